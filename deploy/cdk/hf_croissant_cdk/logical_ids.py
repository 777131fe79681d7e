"""Logical ids that do not depend on how the stack groups its resources into constructs.

CloudFormation identifies a resource by its logical id; a new id replaces the resource (a new
bucket, database, secret; a security group rule created again fails as a duplicate). The CDK
derives the id from the construct path below the stack, so moving a resource into a grouping
construct would rename it. `HfCroissantStack` leaves its `Component`s out of that path: a resource
of a component keeps the id it has as a direct child of the stack, and components can be added,
split or renamed without replacing anything.

Some ids also embed another construct's unique id (`Names.uniqueId`, the path from the app):
a security group rule names its peer group, an RDS-generated secret names itself. `UniqueIds`
maps those to the unique ids without components, for the stack to substitute.
"""

from __future__ import annotations

import hashlib
import re

import aws_cdk as cdk
from constructs import Construct

#: As in aws-cdk-lib (core/lib/private/uniqueid.ts): path components left out, hidden from the
#: human-readable part, and the length limits.
_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_HASH_LEN = 8
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255
_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


class Component(Construct):
    """A group of the stack's resources (one concern: storage, network, ...).

    A component is a direct child of the stack; its id is not part of its resources' logical ids.
    """


def make_unique_id(components: list[str]) -> str:
    """The CDK's `makeUniqueId`: a path below the stack -> a CloudFormation logical id."""
    components = [c for c in components if c != _HIDDEN_ID]
    if not components:
        raise ValueError("Unable to calculate a unique id for an empty set of components")
    if len(components) == 1:
        candidate = _NON_ALPHANUMERIC.sub("", components[0])
        if len(candidate) <= _MAX_ID_LEN:
            return candidate
    digest = hashlib.md5("/".join(components).encode()).hexdigest()[:_HASH_LEN].upper()
    human = "".join(
        _NON_ALPHANUMERIC.sub("", c)
        for c in _remove_dupes(components)
        if c != _HIDDEN_FROM_HUMAN_ID
    )
    return human[:_MAX_HUMAN_LEN] + digest


def _remove_dupes(path: list[str]) -> list[str]:
    """Drop a component that the previous one ends with (`FooBar/Bar` -> `FooBar`)."""
    result: list[str] = []
    for component in path:
        if not result or not result[-1].endswith(component):
            result.append(component)
    return result


def path_below_stack(element: Construct, stack: cdk.Stack) -> list[str]:
    """The ids from `stack` (exclusive) down to `element`, components left out."""
    scopes = element.node.scopes
    paths = [scope.node.path for scope in scopes]
    below = scopes[paths.index(stack.node.path) + 1 :]
    return [scope.node.id for scope in below if not isinstance(scope, Component)]


def ungrouped_unique_id(construct: Construct) -> str:
    """`Names.uniqueId(construct)` computed with the components left out of the path."""
    return make_unique_id(
        [scope.node.id for scope in construct.node.scopes[1:] if not isinstance(scope, Component)]
    )


class UniqueIds:
    """Unique ids of the constructs inside components -> their unique ids without components."""

    def __init__(self, stack: cdk.Stack | None = None) -> None:
        self.renames: dict[str, str] = {}
        for construct in stack.node.find_all() if stack is not None else ():
            if any(isinstance(scope, Component) for scope in construct.node.scopes):
                grouped = cdk.Names.unique_id(construct)
                self.renames[grouped] = ungrouped_unique_id(construct)

    def ungroup(self, text: str) -> str:
        """`text` with every unique id of a construct inside a component replaced."""
        for grouped, ungrouped in self.renames.items():
            if grouped in text:
                text = text.replace(grouped, ungrouped)
        return text

    def fix_overrides(self, stack: cdk.Stack) -> None:
        """Logical ids that a construct overrode with its own unique id (an RDS instance's
        generated secret: `<unique id><md5 of the password rules>`) are ungrouped likewise."""
        for construct in stack.node.find_all():
            if not cdk.CfnElement.is_cfn_element(construct) or cdk.Stack.of(construct) != stack:
                continue
            current = stack.resolve(construct.logical_id)
            ungrouped = self.ungroup(current)
            if ungrouped != current:
                construct.override_logical_id(ungrouped)
