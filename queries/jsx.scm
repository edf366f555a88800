; JSX patterns, for JavaScript and TSX (not plain TypeScript, whose grammar has no JSX).
; A capitalised element name is a component: a reference to it.

((jsx_opening_element name: (identifier) @name) @reference.class (#match? @name "^[A-Z]"))
((jsx_self_closing_element name: (identifier) @name) @reference.class (#match? @name "^[A-Z]"))
