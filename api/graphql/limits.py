"""GraphQL limits decided before anything runs: a cost per request, root mutation fields, and depth.

In the manner of GitHub's and Shopify's published limits, the cost of a request is the number of objects its
response may hold, computed from the document alone:

- a field that returns an object costs 1; scalars and enums cost nothing;
- a field taking `first` is a page: the lists directly inside it (`edges`, a report's `repositories`) hold
  `first` items (the default page size when `first` is omitted or null, a variable's value when it is one;
  clamped to 1..MAX_PAGE_SIZE, which the resolvers enforce), so everything under them costs that many times
  more, and nested pages multiply;
- other lists (a connection's checks, the control catalogue, introspection) count as one item: their size
  is bounded by the data, not by the request;
- every alias counts, and fragments are expanded where they are spread (each spread counts);
- each root mutation field costs MUTATION_COST more (Shopify's figure), and a request holds at most
  `PANOPTICA_GRAPHQL_MAX_ROOT_MUTATIONS` of them (aliases count).

Fields nest at most MAX_DEPTH levels (introspection aside). A request over a limit is refused as a whole,
before validation and execution, with the figures in the error's `extensions` (`QUERY_TOO_COSTLY` with
`cost` and `limit`; `TOO_MANY_MUTATIONS` with `count` and `limit`; `QUERY_TOO_DEEP` with `depth` and
`limit`). Fragments are measured once each (memoised), so a document of fragments spreading each other is
measured in linear time.
Every response to a request that parsed reports its cost in `extensions.cost`.

Also here: `RateLimitedError`, the typed result of on-demand work refused by the account's budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from api.graphql import types as t
from core.errors import RateLimited
from core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_COST = 1000  # defaults of PANOPTICA_GRAPHQL_MAX_COST and PANOPTICA_GRAPHQL_MAX_ROOT_MUTATIONS
MAX_ROOT_MUTATIONS = 5
MUTATION_COST = 10
MAX_DEPTH = 10
# Costs saturate here (JavaScript's largest exact integer): fragments spread into each other can describe
# astronomically many objects, and the figure in the error must stay a number clients can read.
SATURATED = 2**53 - 1
# Lists inside a page that are not the page's items: one report's projects are all of them, not `first`.
NOT_PAGED = {("PostureReport", "projects")}


@dataclass
class Measure:
    cost: int
    root_mutations: int
    depth: int


class Costing:
    """The cost of one operation. Fragment spreads are memoised per (fragment, page size): a document that
    spreads fragments into each other exponentially is measured in linear time (and refused)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.memo: dict[tuple[str, int | None], int] = {}
        self.depths: dict[str, int] = {}

    def selections(self, selection_set: SelectionSetNode | None, parent, page: int | None) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, page)
            elif isinstance(node, InlineFragmentNode):
                condition = self.type_of(node.type_condition) if node.type_condition else parent
                total += self.selections(node.selection_set, condition, page)
            elif isinstance(node, FragmentSpreadNode):
                total += self.spread(node.name.value, page)
        return min(total, SATURATED)

    def spread(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.memo:
            self.memo[key] = 0  # a cycle (refused by validation) counts nothing rather than recursing
            fragment = self.fragments.get(name)
            if fragment is not None:
                condition = self.type_of(fragment.type_condition)
                self.memo[key] = self.selections(fragment.selection_set, condition, page)
        return self.memo[key]

    def field(self, node: FieldNode, parent, page: int | None) -> int:
        definition = self.definition(parent, node.name.value)
        if definition is None:
            return 0  # an unknown field: validation reports it
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        paged = page is not None and is_list_type(get_nullable_type(definition.type))
        items = page if page is not None and paged and (parent.name, node.name.value) not in NOT_PAGED else 1
        inner_page = self.page_size(node) if "first" in definition.args else None
        return min(SATURATED, items * (1 + self.selections(node.selection_set, named, inner_page)))

    def page_size(self, node: FieldNode) -> int:
        argument = next((a for a in node.arguments or () if a.name.value == "first"), None)
        value = self.value(argument.value) if argument else None
        if not isinstance(value, int) or isinstance(value, bool):
            return DEFAULT_PAGE_SIZE  # omitted or null; a value of the wrong type is refused anyway
        return min(max(value, 1), MAX_PAGE_SIZE)

    def value(self, node) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            return self.variables[name] if name in self.variables else self.defaults.get(name)
        return literal(node)

    def definition(self, parent, name: str):
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is self.schema.query_type and name in ("__schema", "__type"):
            return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
        fields = getattr(parent, "fields", None)  # objects and interfaces; a union has none of its own
        return fields.get(name) if fields else None

    def type_of(self, named_type_node):
        return self.schema.get_type(named_type_node.name.value)

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        """Levels of nested fields below this selection set, as Strawberry's QueryDepthLimiter counts them
        (introspection ignored), but memoised per fragment: that limiter expands every spread, and a few
        hundred bytes of fragments spreading each other twice kept it busy for minutes."""
        deepest = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                if node.selection_set and not node.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.depth(node.selection_set))
            elif isinstance(node, InlineFragmentNode):
                deepest = max(deepest, self.depth(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name not in self.depths:
                    self.depths[name] = 0  # a cycle (refused by validation) adds nothing
                    fragment = self.fragments.get(name)
                    self.depths[name] = self.depth(fragment.selection_set) if fragment else 0
                deepest = max(deepest, self.depths[name])
        return deepest


def literal(node) -> int | None:
    """An Int literal's value; None for anything else (null, another type: the default page size)."""
    return int(node.value) if isinstance(node, IntValueNode) else None


def root_fields(selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    """Root fields of an operation, aliases included and fragments expanded (introspection not counted)."""
    count, seen = 0, set()

    def walk(selections: SelectionSetNode) -> None:
        nonlocal count
        for node in selections.selections:
            if isinstance(node, FieldNode):
                count += not node.name.value.startswith("__")
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)  # spread twice, its fields merge: they run once
                if node.name.value in fragments:
                    walk(fragments[node.name.value].selection_set)

    walk(selection_set)
    return count


def measure(
    schema: GraphQLSchema, document, operation_name: str | None, variables: Mapping[str, Any] | None
) -> Measure | None:
    """The cost and root mutation fields of the operation to execute; None when there is no such operation
    (execution says why)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    defaults = {
        v.variable.name.value: literal(v.default_value)
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    costing = Costing(schema, fragments, variables if isinstance(variables, Mapping) else {}, defaults)
    root = schema.get_root_type(operation.operation)
    cost = costing.selections(operation.selection_set, root, None)
    mutations = 0
    if operation.operation == OperationType.MUTATION:
        mutations = root_fields(operation.selection_set, fragments)
        cost = min(SATURATED, cost + mutations * MUTATION_COST)
    return Measure(cost, mutations, costing.depth(operation.selection_set))


class GraphQLLimits(SchemaExtension):
    """Measures the parsed document before graphql-core validates it. A refused request is answered with
    the figures as a request error (nothing executes) and costs its parse only: validating a few thousand
    aliased fields costs several times more than measuring them. Limits come from the process's settings
    (the request context); every measured response reports its cost in `extensions.cost`."""

    measured: Measure | None = None
    max_cost: int = MAX_COST

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        self.max_cost, max_mutations = limits_of(execution.context)
        self.measured = measure(
            execution.schema._schema,
            execution.graphql_document,
            execution.operation_name,
            execution.variables,
        )
        errors = refusals(self.measured, self.max_cost, max_mutations)
        if errors and execution.pre_execution_errors is None:
            execution.pre_execution_errors = errors  # Strawberry then skips graphql-core's validation
        yield

    def get_results(self) -> dict[str, Any]:
        if self.measured is None:
            return {}
        return {"cost": {"requested": self.measured.cost, "limit": self.max_cost}}


def refusals(measured: Measure | None, max_cost: int, max_mutations: int) -> list[GraphQLError]:
    if measured is None:
        return []
    errors = []
    if measured.depth > MAX_DEPTH:
        errors.append(
            GraphQLError(
                f"This request nests fields {measured.depth} levels deep; the limit is {MAX_DEPTH}.",
                extensions={"code": "QUERY_TOO_DEEP", "depth": measured.depth, "limit": MAX_DEPTH},
            )
        )
    if measured.root_mutations > max_mutations:
        errors.append(
            GraphQLError(
                f"A request may hold at most {max_mutations} mutations; this one has "
                f"{measured.root_mutations} (aliases count). Send them in separate requests.",
                extensions={
                    "code": "TOO_MANY_MUTATIONS",
                    "count": measured.root_mutations,
                    "limit": max_mutations,
                },
            )
        )
    if measured.cost > max_cost:
        errors.append(
            GraphQLError(
                f"This request costs {measured.cost} points; the limit is {max_cost}. "
                "Ask for smaller pages (first), fewer nested fields or fewer aliases.",
                extensions={"code": "QUERY_TOO_COSTLY", "cost": measured.cost, "limit": max_cost},
            )
        )
    return errors


def limits_of(context) -> tuple[int, int]:
    settings = getattr(getattr(context, "services", None), "settings", None)
    if settings is None:  # a schema used without our request context (tests of the schema itself)
        return MAX_COST, MAX_ROOT_MUTATIONS
    return settings.graphql_max_cost, settings.graphql_max_root_mutations


@strawberry.type(
    description="The account's budget for on-demand work is spent: nothing was queued or changed. "
    "Ask again after retryAfterSeconds (at retryAt)."
)
class RateLimitedError(t.UserError):
    retry_after_seconds: int
    retry_at: datetime


def rate_limited(error: RateLimited) -> RateLimitedError:
    return RateLimitedError(
        code="RATE_LIMITED",
        message=error.message,
        retry_after_seconds=error.retry_after_seconds,
        retry_at=error.retry_at,
    )


__all__ = ["GraphQLLimits", "RateLimitedError", "measure", "rate_limited"]
