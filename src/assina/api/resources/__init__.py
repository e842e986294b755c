"""One router per resource; each calls the app's services and never writes models itself."""
