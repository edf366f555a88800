; JavaScript-only patterns (JavaScript's query is this file followed by ecmascript.scm).

(field_definition property: (property_identifier) @name) @definition.field
(class_heritage (identifier) @name) @reference.class
(class_heritage (member_expression property: (property_identifier) @name)) @reference.class
