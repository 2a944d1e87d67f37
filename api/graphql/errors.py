from graphql import GraphQLError


class BadArgument(GraphQLError):
    """An argument the caller must fix; shown as is (not masked)."""
