"""Abuse limits on GraphQL documents, checked before anything executes.

* tokens: the parser stops past ``MCGRAPH_MAX_TOKENS`` lexical tokens (and as many
  comments), so a huge document is never parsed whole (code DOCUMENT_TOO_LARGE);
* depth: the deepest nesting of fields, through fragment spreads and inline fragments
  (QUERY_TOO_DEEP). ``__schema``/``__type`` subtrees are exempt, so that GraphiQL's
  introspection query passes; introspection is refused altogether in production;
* aliases: aliased fields, counted through fragments, a fragment spread twice counting
  twice (TOO_MANY_ALIASES);
* cost: 1 per field, or the cost a computed field declares (:func:`declared_cost`:
  ``schedule``, a process's ``metrics``, ``workload`` and ``portfolio``: 100 each, as much
  as a default page of tasks); a field that takes ``first``/``last``
  multiplies the cost of what it selects (itself included) by that argument, literal or
  variable, or by ``MCGRAPH_DEFAULT_PAGE_SIZE`` when absent; nested multiplications
  multiply (QUERY_TOO_COMPLEX);
* computed cost: what a computed field computes has a size only known when it runs (a
  project's schedule is as large as its task list), so such a field is charged again, at
  execution, by that size (:func:`charge_computed`: a schedule its task count, a critical
  path its length), each time it is asked for, aliases included, though the computation
  itself is done once per operation (its dataloader); once the estimate plus these charges
  pass ``MCGRAPH_MAX_QUERY_COST`` the field is refused with QUERY_TOO_COMPLEX, so fifteen
  aliases of a 10,000-task project's ``schedule { criticalPath }`` get an error, not 14 s of
  CPU;
* rate: each query and mutation is charged to its token, one request and, once it has
  validated, its cost (see :mod:`mcgraph.ratelimit`); past the limits it is refused
  (RATE_LIMITED, ``extensions.retryAfter``; over HTTP 429 with ``Retry-After``);
* directives: more than ``MCGRAPH_MAX_DIRECTIVES`` directives on one field, fragment,
  operation or variable refuse the document with one error (TOO_MANY_DIRECTIVES) instead
  of one per directive (auditors' "directive overloading" probe);
* production (``MCGRAPH_ENV=production``): introspection is refused
  (INTROSPECTION_DISABLED) and validation messages carry no "Did you mean" suggestions.

The limits come from the settings of the request's runtime (``info.context.runtime``),
so :func:`~mcgraph.api.schema.build_schema` needs no settings; without a runtime the
defaults of :class:`Limits` apply.

Clients send the same few documents again and again: the parsed document is kept by its
text, and a document that validated is remembered by its schema, text and operation name,
with its cost for each set of values of the variables the cost read (those given as
``first``/``last``), so that neither is done twice: a mutation sent with new titles each
time is walked once. A document that failed is checked afresh each time.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import orjson
from cachetools import LRUCache

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from mcgraph.domain.errors import ErrorCode, RequestError

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
PAGE_ARGUMENTS = ("first", "last")
COST = "mcgraph.cost"  # a field's metadata key: its declared cost, instead of 1


def costs(cost: int) -> dict[str, int]:
    """The metadata of a computed field that costs ``cost`` (``strawberry.field(metadata=...)``)."""
    return {COST: cost}


def declared_cost(definition: Any) -> int:
    """What one resolution of the field ``definition`` is estimated to cost: 1, unless it declares more."""
    field = (getattr(definition, "extensions", None) or {}).get("strawberry-definition")
    metadata = getattr(field, "metadata", None) or {}
    return int(metadata.get(COST, 1))


# the operation's dataloaders (made afresh for each result of a subscription) -> computed cost so far
_charged: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def charge_computed(info: Any, size: int, what: str) -> None:
    """Charge the running operation ``size`` for what a computed field returns (a schedule:
    its tasks); refuse the field (QUERY_TOO_COMPLEX) when the operation's estimated cost
    and its computed charges so far pass ``MCGRAPH_MAX_QUERY_COST``."""
    context = info.context
    limits = Limits.of(context)
    scope = context.loaders  # what the computed values are kept in, as long as they are
    spent = _charged.get(scope, 0) + size
    estimate = getattr(context, "cost", 0) or 0
    if estimate + spent > limits.max_cost:
        raise RequestError(
            f"{what} is {size:,} items; with the rest of the operation (cost {estimate + _charged.get(scope, 0):,}) it passes the "
            f"limit of {limits.max_cost:,} (MCGRAPH_MAX_QUERY_COST). Ask for it once per operation.",
            code=ErrorCode.QUERY_TOO_COMPLEX,
        )
    _charged[scope] = spent


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 15
    max_tokens: int = 2000
    max_cost: int = 50_000
    max_errors: int = 20
    max_directives: int = 5
    default_page_size: int = 20
    production: bool = False

    @classmethod
    def of(cls, context: object) -> Limits:
        """The limits of the runtime's settings behind ``context``; the defaults without one."""
        settings = getattr(getattr(context, "runtime", None), "settings", None)
        if settings is None:
            return cls()
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_query_cost,
            max_errors=settings.max_errors,
            max_directives=settings.max_directives,
            default_page_size=settings.default_page_size,
            production=settings.is_production,
        )


class LimitRule(ValidationRule):
    """Base of the limit rules: measures each operation once, through its fragments."""

    limits: ClassVar[Limits] = Limits()
    variables: ClassVar[Mapping[str, Any]] = {}
    costs: ClassVar[dict[str | None, int]] = {}  # filled by MaxCostRule: operation name -> cost
    read: ClassVar[set[str]] = set()  # filled by MaxCostRule: the variables the cost depends on

    def enter_document(self, node: DocumentNode, *_: object) -> None:
        self.fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}

    def refuse(self, message: str, code: str, node: OperationDefinitionNode) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": code}))

    def selections(
        self, selection_set: SelectionSetNode | None, seen: frozenset[str], on: str | None = None
    ) -> Iterator[tuple[FieldNode, frozenset[str], str | None]]:
        """The fields of a selection set, fragments flattened, each with the type condition of
        the fragment it came from, if any (a fragment cycle is cut; another rule reports it)."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, seen, on
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else on
                yield from self.selections(selection.selection_set, seen, condition)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self.selections(fragment.selection_set, seen | {name}, fragment.type_condition.name.value)


class MaxDepthRule(LimitRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        depth = self.depth(node.selection_set, frozenset())
        if depth > self.limits.max_depth:
            self.refuse(
                f"The operation is nested {depth} fields deep, more than the limit of {self.limits.max_depth} (MCGRAPH_MAX_QUERY_DEPTH).",
                "QUERY_TOO_DEEP",
                node,
            )

    def depth(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        deepest = 0
        for field, inner, _ in self.selections(selection_set, seen):
            if field.name.value in INTROSPECTION_FIELDS:
                continue
            deepest = max(deepest, 1 + self.depth(field.selection_set, inner))
            if deepest > self.limits.max_depth:
                break  # enough to refuse; a deeper walk only costs time
        return deepest


class MaxAliasesRule(LimitRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        count = self.count(node.selection_set, frozenset())
        if count > self.limits.max_aliases:
            self.refuse(
                f"The operation has {count} aliased fields, more than the limit of {self.limits.max_aliases} (MCGRAPH_MAX_ALIASES).",
                "TOO_MANY_ALIASES",
                node,
            )

    def count(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        total = 0
        for field, inner, _ in self.selections(selection_set, seen):
            total += (field.alias is not None) + self.count(field.selection_set, inner)
            if total > self.limits.max_aliases:
                break
        return total


class MaxCostRule(LimitRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        schema = self.context.schema
        root = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }.get(node.operation)
        self.defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value) for d in node.variable_definitions or () if d.default_value
        }
        cost = self.cost(schema, root, node.selection_set, frozenset())
        self.costs[node.name.value if node.name else None] = cost
        if cost > self.limits.max_cost:
            self.refuse(
                f"The operation's estimated cost is {cost}, more than the limit of {self.limits.max_cost} (MCGRAPH_MAX_QUERY_COST). "
                "Ask for smaller pages (first/last) or fewer nested lists.",
                "QUERY_TOO_COMPLEX",
                node,
            )

    def cost(self, schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        total = 0
        for field, inner, condition in self.selections(selection_set, seen):
            definition = self.definition(schema.get_type(condition) if condition else parent, field)
            child_type = get_named_type(definition.type) if definition is not None else None
            total += self.multiplier(field, definition) * (declared_cost(definition) + self.cost(schema, child_type, field.selection_set, inner))
            if total > self.limits.max_cost:
                break  # enough to refuse
        return total

    @staticmethod
    def definition(parent: Any, field: FieldNode) -> Any:
        name = field.name.value
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return parent.fields.get(name)
        return None  # unknown: another rule reports it

    def multiplier(self, field: FieldNode, definition: Any) -> int:
        if definition is None or not any(arg in definition.args for arg in PAGE_ARGUMENTS):
            return 1
        # every page variable of the field counts, whichever decides: the cost is kept by their values
        self.read.update(
            a.value.name.value for a in field.arguments or () if a.name.value in PAGE_ARGUMENTS and isinstance(a.value, VariableNode)
        )
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                name = argument.value.name.value
                value = self.variables.get(name, self.defaults.get(name))
            if isinstance(value, int) and not isinstance(value, bool):
                return max(value, 1)
        return self.limits.default_page_size


class MaxDirectivesRule(LimitRule):
    """Refuses the first location that carries more than ``max_directives`` directives, once:
    the document's other errors are then left out (see :func:`only_directive_refusal`)."""

    def enter(self, node: Node, *_: object) -> object:
        directives = getattr(node, "directives", None)
        if directives and len(directives) > self.limits.max_directives:
            self.report_error(
                GraphQLError(
                    f"{len(directives)} directives in one place, more than the limit of {self.limits.max_directives} "
                    "(MCGRAPH_MAX_DIRECTIVES).",
                    node,
                    extensions={"code": TOO_MANY_DIRECTIVES},
                )
            )
            return BREAK
        return None


def only_directive_refusal(errors: list[GraphQLError]) -> list[GraphQLError]:
    """``errors``, or only the directive refusal among them: one error, not one per directive."""
    refusal = [e for e in errors if (e.extensions or {}).get("code") == TOO_MANY_DIRECTIVES]
    return refusal or errors


class NoIntrospectionRule(ValidationRule):
    """Refuses ``__schema`` and ``__type`` (``__typename`` stays allowed)."""

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value in INTROSPECTION_FIELDS:
            self.report_error(
                GraphQLError(
                    f"Introspection is disabled on this server: '{node.name.value}' cannot be queried.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


def limit_rules(
    limits: Limits, variables: Mapping[str, Any] | None, costs: dict[str | None, int] | None = None, read: set[str] | None = None
) -> list[type[ValidationRule]]:
    """The limit rules bound to this operation's limits and variable values; ``costs``
    receives each operation's estimated cost, ``read`` the variables that cost depends on."""
    bound = {"limits": limits, "variables": dict(variables or {}), "costs": {} if costs is None else costs, "read": set() if read is None else read}
    rules: list[type[ValidationRule]] = [type(rule.__name__, (rule,), bound) for rule in (MaxDepthRule, MaxAliasesRule, MaxCostRule, MaxDirectivesRule)]
    if limits.production:
        rules.append(NoIntrospectionRule)
    return rules


# request scope key: a refusal of the rate limits met before execution (by
# mcgraph.api.response_cache.serve_kept), reported here instead of charging again
REFUSED = "mcgraph.rate_refused"
PARSED_DOCUMENTS = 256
VALIDATED_DOCUMENTS = 512  # per schema
COSTS_PER_DOCUMENT = 64  # page sizes a validated document is remembered with


@dataclass(slots=True)
class _Validated:
    """A document that validated: the variables its cost reads, and its cost by their values."""

    read: tuple[str, ...]
    costs: LRUCache[bytes, int]

    def values(self, variables: Mapping[str, Any] | None) -> bytes:
        given = variables or {}
        # a variable left out and one given as null differ: the document's default applies to the first
        return orjson.dumps([[name in given, given.get(name)] for name in self.read])


_validated: weakref.WeakKeyDictionary[Any, LRUCache[Any, _Validated]] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=PARSED_DOCUMENTS)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    """The document of ``query``, parsed as Strawberry would with these parse options."""
    return parse(query, **dict(options))


class DocumentLimitsExtension(SchemaExtension):
    """Applies the limits: the token limit to the parser, the others as validation rules.

    Validation is run here (instead of by Strawberry) with all of Strawberry's rules plus
    the limit rules, so that graphql-core's ``hide_suggestions`` (production) and
    ``max_errors`` apply.
    """

    def on_parse(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        limits = Limits.of(context.context)
        options: dict[str, Any] = context.parse_options  # type: ignore[assignment]
        options["max_lexical_tokens"] = limits.max_tokens
        options["max_comments"] = limits.max_tokens
        if context.query and context.graphql_document is None:
            try:
                context.graphql_document = _parse(context.query, tuple(sorted(options.items())))
            except GraphQLError:
                pass  # Strawberry parses it again and reports the error its way
        yield

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None and context.validation_rules:
            limits = Limits.of(context.context)
            validated = _validated.setdefault(context.schema, LRUCache(maxsize=VALIDATED_DOCUMENTS))
            key = (limits, context.query, context.operation_name)
            known = validated.get(key) if context.query else None
            cost = None if known is None else known.costs.get(known.values(context.variables))
            if cost is not None:
                context.pre_execution_errors = []  # validated: Strawberry need not validate it again
                await self._charge(cost)
                yield
                return
            costs: dict[str | None, int] = {}
            read: set[str] = set()
            rules = (
                *context.validation_rules,
                *limit_rules(limits, context.variables, costs, read),
                MaybeNullValidationRule,
                OneOfInputValidationRule,
            )
            context.pre_execution_errors = only_directive_refusal(
                validate(
                    context.schema._schema,
                    context.graphql_document,
                    rules,
                    max_errors=limits.max_errors,
                    hide_suggestions=limits.production,
                )
            )
            cost = costs.get(context.operation_name, 0)
            if not context.pre_execution_errors and context.query:
                if known is None:
                    known = validated[key] = _Validated(tuple(sorted(read)), LRUCache(maxsize=COSTS_PER_DOCUMENT))
                known.costs[known.values(context.variables)] = cost
            # a document that did not validate costs a request too, and nothing more
            await self._charge(0 if context.pre_execution_errors else cost)
        yield

    async def _charge(self, cost: int) -> None:
        """Charge the operation to its token's rate limits; refuse it when they are spent."""
        context = self.execution_context
        if hasattr(context.context, "cost"):
            context.context.cost = cost  # kept with its answer (mcgraph.api.response_cache)
        runtime = getattr(context.context, "runtime", None)
        if runtime is None or not runtime.rate_limits.enabled or context.operation_type.value == "subscription":
            return
        request = getattr(context.context, "request", None)
        key = rate_key(getattr(context.context, "actor", None), request)
        scope = getattr(request, "scope", None)
        met = scope.pop(REFUSED, None) if isinstance(scope, dict) else None  # charged ahead (response_cache.serve_kept)
        refused = met or await runtime.rate_limits.charge(key, cost)
        if refused is None:
            return
        what = "requests" if refused.limit == "requests" else "query cost"
        setting = "MCGRAPH_RATE_LIMIT_REQUESTS_PER_MINUTE" if refused.limit == "requests" else "MCGRAPH_RATE_LIMIT_COST_PER_MINUTE"
        whom = "this token" if key.startswith("token:") else "requests without a token from this address"
        context.pre_execution_errors = [
            GraphQLError(
                f"Rate limit reached: at most {refused.per_minute} {what} per minute for {whom} ({setting}). "
                f"Try again in {refused.retry_after} s.",
                extensions={"code": "RATE_LIMITED", "retryAfter": refused.retry_after},
            )
        ]
        response = getattr(context.context, "response", None)
        if isinstance(response, Response):  # over HTTP
            response.status_code = 429
            response.headers["Retry-After"] = str(refused.retry_after)


def rate_key(actor: Any, request: Any) -> str:
    """Whom an operation is charged to: its token, or without one its client's address."""
    if actor is not None and actor.token_id is not None:
        return f"token:{actor.token_id}"
    client = getattr(request, "client", None)
    return f"address:{client.host if client else 'unknown'}"
