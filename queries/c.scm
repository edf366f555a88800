; C definitions, references and includes (also the tail of the C++ query).
; Kinds follow universal-ctags' default C kinds: macro, function, struct, union, enum,
; enumerator, field (member), type (typedef), variable. Prototypes and extern variables
; are not definitions (ctags leaves them off by default).

(preproc_include path: [(string_literal) (system_lib_string)] @import.include)

(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name)))) @definition.function

(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.union
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(enumerator name: (identifier) @name) @definition.enumerator

(field_declaration declarator: (field_identifier) @name) @definition.field
(field_declaration declarator: (pointer_declarator declarator: (field_identifier) @name)) @definition.field
(field_declaration
  declarator: (pointer_declarator
    declarator: (pointer_declarator declarator: (field_identifier) @name))) @definition.field
(field_declaration declarator: (array_declarator declarator: (field_identifier) @name)) @definition.field
(field_declaration
  declarator: (function_declarator
    declarator: (parenthesized_declarator
      (pointer_declarator declarator: (field_identifier) @name)))) @definition.field
; A function pointer member returning a pointer: `char *(*help_filter) (int, ...);`.
(field_declaration
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (field_identifier) @name))))) @definition.field

(type_definition declarator: (type_identifier) @name) @definition.type
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name)) @definition.type
(type_definition declarator: (array_declarator declarator: (type_identifier) @name)) @definition.type
(type_definition
  declarator: (function_declarator
    declarator: (parenthesized_declarator
      (pointer_declarator declarator: (type_identifier) @name)))) @definition.type
(type_definition
  declarator: (function_declarator declarator: (type_identifier) @name)) @definition.type
; Function pointer types behind a calling-convention macro the grammar cannot know:
; `typedef void (APIENTRYP PFNGLCULLFACEPROC) (GLenum mode);`,
; `typedef void (GLAPIENTRY *PFNFOO) (void);`,
; `typedef EGLBoolean (EGLAPIENTRYP PFNEGLBINDAPIPROC) (EGLenum api);` (in c-only.scm).
(type_definition
  declarator: (function_declarator
    declarator: (parenthesized_declarator
      (ERROR) @_tolerate_errors
      .
      [(type_identifier) @name
       (pointer_declarator declarator: (type_identifier) @name)]
      .))) @definition.type
; `typedef const char *(EGLAPIENTRYP PFNEGLQUERYSTRINGPROC) (EGLDisplay dpy, EGLint name);`
(type_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (parenthesized_declarator
        (ERROR) @_tolerate_errors
        .
        (type_identifier) @name
        .)))) @definition.type

; Variables: locals (inside a function body) and externs are dropped in code.
(declaration declarator: (identifier) @name) @definition.variable
(declaration declarator: (init_declarator declarator: (identifier) @name)) @definition.variable
(declaration declarator: (pointer_declarator declarator: (identifier) @name)) @definition.variable
(declaration
  declarator: (init_declarator
    declarator: (pointer_declarator declarator: (identifier) @name))) @definition.variable
(declaration declarator: (array_declarator declarator: (identifier) @name)) @definition.variable
(declaration
  declarator: (init_declarator
    declarator: (array_declarator declarator: (identifier) @name))) @definition.variable

; References
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(type_identifier) @name @reference.type
