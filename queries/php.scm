; PHP definitions, references and imports. Kinds: namespace, class, interface, trait,
; enum, enumerator (enum case), function, method, constant (const and define()),
; property.

(namespace_use_clause [(name) (qualified_name)] @import.php_use)
(require_expression [(string) (encapsed_string)] @import.path)
(require_once_expression [(string) (encapsed_string)] @import.path)
(include_expression [(string) (encapsed_string)] @import.path)
(include_once_expression [(string) (encapsed_string)] @import.path)
(namespace_use_clause [(name) @name (qualified_name (name) @name)] @reference.import)

(namespace_definition name: (namespace_name) @name) @definition.namespace
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum
(enum_case name: (name) @name) @definition.enumerator
(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(const_declaration (const_element (name) @name)) @definition.constant
(function_call_expression
  function: (name) @_define
  arguments: (arguments . (argument [(string) (encapsed_string)] @name))
  (#eq? @_define "define")) @definition.constant
(property_declaration (property_element (variable_name (name) @name))) @definition.property

; References
(function_call_expression function: (name) @name) @reference.call
(function_call_expression function: (qualified_name (name) @name)) @reference.call
(member_call_expression name: (name) @name) @reference.call
(nullsafe_member_call_expression name: (name) @name) @reference.call
(scoped_call_expression name: (name) @name) @reference.call
(object_creation_expression [(name) @name (qualified_name (name) @name)]) @reference.class
(base_clause [(name) @name (qualified_name (name) @name)]) @reference.class
(class_interface_clause [(name) @name (qualified_name (name) @name)]) @reference.implementation
(use_declaration [(name) @name (qualified_name (name) @name)]) @reference.implementation
