; JavaScript-only patterns (JavaScript's query is this file followed by ecmascript.scm).

;; Class fields, public or private (`#x`), static or not, with or without an initializer.
(field_definition
  property: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.field
(class_heritage (identifier) @name) @reference.class
(class_heritage (member_expression property: (property_identifier) @name)) @reference.class
