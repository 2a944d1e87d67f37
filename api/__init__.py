"""The HTTP surface: the Starlette application, the GraphQL schema and the HTML pages. Thin over `core`."""
