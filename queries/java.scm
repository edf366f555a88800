; Java definitions, references and imports. Kinds: package, class, interface, enum,
; annotation, enumerator (enum constant), method (incl. constructors), field.

(import_declaration [(scoped_identifier) (identifier)] @import.module)
(import_declaration (scoped_identifier name: (identifier) @name) @reference.import . ";")

(package_declaration [(scoped_identifier) (identifier)] @name) @definition.package
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(annotation_type_declaration name: (identifier) @name) @definition.annotation
(enum_constant name: (identifier) @name) @definition.enumerator
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field
(constant_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field

; References
(method_invocation name: (identifier) @name) @reference.call
(object_creation_expression type: (type_identifier) @name) @reference.class
(object_creation_expression type: (generic_type (type_identifier) @name)) @reference.class
(superclass (type_identifier) @name) @reference.class
(super_interfaces (type_list (type_identifier) @name)) @reference.implementation
(type_identifier) @name @reference.type
