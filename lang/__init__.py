"""pvm's front end: grammar, parser, AST, scopes and the bytecode compiler."""
