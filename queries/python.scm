; Python definitions, references and imports. Kinds: class, method (functions in a class
; body), function, variable (module and class level assignments).

(import_statement name: (dotted_name) @import.module)
(import_statement name: (aliased_import name: (dotted_name) @import.module))
(import_from_statement module_name: (_) @import.module)
(import_from_statement name: (dotted_name) @name @reference.import)
(import_from_statement name: (aliased_import name: (dotted_name) @name) @reference.import)

(class_definition name: (identifier) @name) @definition.class
(class_definition
  body: (block (function_definition name: (identifier) @name) @definition.method))
(class_definition
  body: (block (decorated_definition
    definition: (function_definition name: (identifier) @name) @definition.method)))
(function_definition name: (identifier) @name) @definition.function

; Assignments anywhere outside a function (module and class level, also inside their
; if/for/while/try/with blocks, as ctags reports them); those in functions are dropped in code.
(expression_statement (assignment left: (identifier) @name) @definition.variable)
(expression_statement (assignment left: (pattern_list (identifier) @name)) @definition.variable)

; References
(call function: (identifier) @name) @reference.call
(call function: (attribute attribute: (identifier) @name)) @reference.call
(class_definition superclasses: (argument_list (identifier) @name) @reference.class)
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @name)) @reference.class)
(decorator (identifier) @name) @reference.call
