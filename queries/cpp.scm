; C++ patterns, placed before the C patterns (c.scm) in the C++ query: the C++ grammar
; extends the C grammar. Member functions are `function` like ctags' C++ kinds.

(namespace_definition name: (namespace_identifier) @name) @definition.namespace
(class_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.class
(class_specifier
  name: (template_type name: (type_identifier) @name)
  body: (field_declaration_list)) @definition.class
(struct_specifier
  name: (template_type name: (type_identifier) @name)
  body: (field_declaration_list)) @definition.struct

; Member functions defined in the class body.
(function_definition
  declarator: (function_declarator
    declarator: [(field_identifier) (destructor_name) (operator_name)] @name)) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: [(field_identifier) (identifier)] @name))) @definition.function
; Out-of-line definitions: A::f, A::B::f, A::~A.
(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier
      name: [(identifier) (destructor_name) (operator_name)] @name))) @definition.function
(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier
      name: (qualified_identifier
        name: [(identifier) (destructor_name) (operator_name)] @name)))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (qualified_identifier name: (identifier) @name)))) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: (qualified_identifier name: (identifier) @name)))) @definition.function

(alias_declaration name: (type_identifier) @name) @definition.type

; References
(call_expression function: (qualified_identifier name: (identifier) @name)) @reference.call
(call_expression function: (template_function name: (identifier) @name)) @reference.call
(call_expression
  function: (field_expression field: (template_method name: (field_identifier) @name))) @reference.call
(new_expression type: (type_identifier) @name) @reference.class
(base_class_clause (type_identifier) @name) @reference.class
