; TypeScript/TSX-only patterns (their query is this file followed by ecmascript.scm).
; Kinds added: interface, type (alias), enum, enumerator, namespace, module, property,
; and function/method signatures.

(function_signature name: (identifier) @name) @definition.function
(method_signature name: (property_identifier) @name) @definition.method
(abstract_method_signature name: (property_identifier) @name) @definition.method
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(module name: [(identifier) (nested_identifier)] @name) @definition.module
(internal_module name: [(identifier) (nested_identifier)] @name) @definition.namespace
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(enum_body (property_identifier) @name @definition.enumerator)
(enum_body (enum_assignment name: (property_identifier) @name) @definition.enumerator)
(public_field_definition name: (property_identifier) @name) @definition.property
(property_signature name: (property_identifier) @name) @definition.property

; References
(extends_clause value: (identifier) @name) @reference.class
(implements_clause (type_identifier) @name) @reference.implementation
(extends_type_clause type: (type_identifier) @name) @reference.interface
(type_identifier) @name @reference.type
