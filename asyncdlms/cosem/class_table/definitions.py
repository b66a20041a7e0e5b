"""What the class table is made of: :class:`InterfaceClass` with its
:class:`AttributeDefinition` and :class:`MethodDefinition`, and :func:`build`, which the
modules of this package use to write their classes as the Blue Book lists them.

Import these from :mod:`asyncdlms.cosem.classes` (the public place); this package holds the
table by Blue Book chapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import UnknownAttributeError, UnknownMethodError

__all__ = [
    "LOGICAL_NAME",
    "RESET",
    "AttributeDefinition",
    "AttributeEntry",
    "InterfaceClass",
    "MethodDefinition",
    "MethodEntry",
    "build",
]


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    """One attribute of an interface class: its number, Blue Book name and data type."""

    number: int
    name: str
    data_type: str


@dataclass(frozen=True, slots=True)
class MethodDefinition:
    """One method of an interface class: its number, Blue Book name and parameter type."""

    number: int
    name: str
    parameter_type: str


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True, slots=True)
class InterfaceClass:
    """An interface class: id, version, name, attributes and methods.

    ``known`` is false for the generic stand-in of a class id the table does not have.
    """

    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeDefinition, ...]
    methods: tuple[MethodDefinition, ...] = ()
    known: bool = True
    _attributes_by_key: Mapping[int | str, AttributeDefinition] = field(
        init=False, repr=False, compare=False
    )
    _methods_by_key: Mapping[int | str, MethodDefinition] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        attributes: dict[int | str, AttributeDefinition] = {}
        for attribute in self.attributes:
            attributes[attribute.number] = attribute
            attributes[_key(attribute.name)] = attribute
        methods: dict[int | str, MethodDefinition] = {}
        for method in self.methods:
            methods[method.number] = method
            methods[_key(method.name)] = method
        object.__setattr__(self, "_attributes_by_key", MappingProxyType(attributes))
        object.__setattr__(self, "_methods_by_key", MappingProxyType(methods))

    def attribute(self, key: int | str) -> AttributeDefinition:
        """The attribute with this number or name; :class:`UnknownAttributeError` if none."""
        found = self._attributes_by_key.get(_key(key) if isinstance(key, str) else int(key))
        if found is None:
            raise UnknownAttributeError(
                f"{self.name} (class {self.class_id}, version {self.version}) has no "
                f"attribute {key!r}"
            )
        return found

    def method(self, key: int | str) -> MethodDefinition:
        """The method with this number or name; :class:`UnknownMethodError` if none."""
        found = self._methods_by_key.get(_key(key) if isinstance(key, str) else int(key))
        if found is None:
            raise UnknownMethodError(
                f"{self.name} (class {self.class_id}, version {self.version}) has no method {key!r}"
            )
        return found

    def has_attribute(self, key: int | str) -> bool:
        """True when the class defines this attribute (number or name)."""
        return (_key(key) if isinstance(key, str) else int(key)) in self._attributes_by_key

    def has_method(self, key: int | str) -> bool:
        """True when the class defines this method (number or name)."""
        return (_key(key) if isinstance(key, str) else int(key)) in self._methods_by_key


# ---------------------------------------------------------------------------------------------
# How the table is written. Attribute 1 (logical_name, octet-string) is added to every class;
# the others are numbered from 2 in the order given, methods from 1. A ``None`` keeps a number
# unused.

AttributeEntry = tuple[str, str] | None
"""An attribute as the table writes it: (name, data type), or ``None`` for an unused number."""
MethodEntry = tuple[str, str] | None
"""A method as the table writes it: (name, parameter type), or ``None`` for an unused number."""

LOGICAL_NAME = AttributeDefinition(1, "logical_name", "octet-string")


def build(
    class_id: int,
    versions: Iterable[int],
    name: str,
    attributes: Iterable[AttributeEntry],
    methods: Iterable[MethodEntry] = (),
) -> Iterator[InterfaceClass]:
    """The class ``class_id`` in each of ``versions``, all with the same attributes (numbered
    from 2 after logical_name) and methods (numbered from 1)."""
    attribute_definitions = [LOGICAL_NAME]
    for number, attribute in enumerate(attributes, start=2):
        if attribute is not None:
            attribute_definitions.append(AttributeDefinition(number, *attribute))
    method_definitions = [
        MethodDefinition(number, *method)
        for number, method in enumerate(methods, start=1)
        if method is not None
    ]
    for version in versions:
        yield InterfaceClass(
            class_id, version, name, tuple(attribute_definitions), tuple(method_definitions)
        )


#: The reset method many classes have (number 1 where it comes first).
RESET: MethodEntry = ("reset", "data: integer(0)")
