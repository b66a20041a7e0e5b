"""Association LN (class 15) and Association SN (class 12): object lists and access rights.

``object_list`` (attribute 2 of Association LN) is an array of::

    object_list_element ::= structure {
        class_id long-unsigned, version unsigned, logical_name octet-string,
        access_rights ::= structure {
            attribute_access array of structure {attribute_id integer, access_mode enum,
                                                 access_selectors CHOICE {null-data,
                                                                          array of integer}},
            method_access array of structure {method_id integer, access_mode enum}}}

:func:`parse_object_list` gives an :class:`ObjectList` of :class:`ObjectListEntry`.

Tolerance (quirk 9): real object lists are not always well formed (Iskraemeco MT-880,
Kamstrup, Actaris SL7000...). The parser never raises for one entry:

- an entry or item with *more* elements than the Blue Book's is read, the extra ignored;
- an entry with *fewer* elements keeps what could be read (no access_rights: empty access
  lists and ``access_rights_present`` false);
- an access-right id of -1 (or any negative, manufacturer-specific id) is kept as sent;
  only listed attributes/methods have an access right — :meth:`ObjectListEntry.attribute_access`
  gives ``None`` for the others (meters that list only the attributes they support);
- method access_mode sent as a boolean (Association LN version 0) reads as
  :attr:`MethodAccessMode.NO_ACCESS` / :attr:`MethodAccessMode.ACCESS`; access modes outside
  the enumeration stay ints;
- an access item that cannot be read at all is dropped and noted in the entry's ``problems``;
- an entry without a readable class_id or logical_name is skipped and counted
  (:attr:`ObjectList.skipped`, with the reason in :attr:`ObjectList.problems`).

Only a value that is not an array at all raises :class:`CosemValueError`.

In Association LN version 3 the access modes are bit-fields (bit 0 read / access, bit 1
write, bits 2..7 the protection required); with ``association_version=3`` (or a list whose
own 0.0.40.0.0.255 entry says version 3) :attr:`AttributeAccess.readable` /
:attr:`AttributeAccess.writable` read the bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any, TypeVar

from ..apdu.acse import ApplicationContextName, MechanismName
from ..apdu.initiate import Conformance
from ..apdu.short_name import attribute_short_name, method_short_name
from ..errors import DlmsError
from ..obis import Obis, ObisLike
from ..types.values import BitString
from .classes import InterfaceClass, interface_class
from .errors import CosemValueError

__all__ = [
    "AccessProtection",
    "AssociatedPartners",
    "AssociationStatus",
    "AttributeAccess",
    "AttributeAccessMode",
    "MethodAccess",
    "MethodAccessMode",
    "ObjectList",
    "ObjectListEntry",
    "ShortNameObject",
    "XdlmsContextInfo",
    "application_context_name",
    "association_status",
    "authentication_mechanism_name",
    "parse_associated_partners",
    "parse_object_list",
    "parse_short_name_object_list",
]


class AttributeAccessMode(IntEnum):
    """attribute access_mode of Association LN versions 0..2 (and SN)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_AND_WRITE = 6


class MethodAccessMode(IntEnum):
    """method access_mode of Association LN versions 1..2 (a boolean in version 0)."""

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2


class AccessProtection(IntFlag):
    """The bits of an access_mode in Association LN version 3."""

    READ = 0x01
    """Attribute: read access. Method: access."""
    WRITE = 0x02
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


class AssociationStatus(IntEnum):
    """Association LN attribute 8 ``association_status``."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


_READABLE = {1, 3, 4, 6}
_WRITABLE = {2, 3, 5, 6}


_E = TypeVar("_E", bound=IntEnum)


def _enum_or_int(enum: type[_E], value: int) -> _E | int:
    return enum(value) if value in enum._value2member_map_ else int(value)


@dataclass(frozen=True, slots=True)
class AttributeAccess:
    """The access right to one attribute: id, mode and the selective-access selectors
    (``None`` when the attribute has none)."""

    attribute_id: int
    access_mode: AttributeAccessMode | AccessProtection | int
    access_selectors: tuple[int, ...] | None = None
    bit_field: bool = False
    """True when ``access_mode`` is a version 3 bit-field (:class:`AccessProtection`)."""

    @property
    def readable(self) -> bool:
        """True when the association may read the attribute."""
        if self.bit_field:
            return bool(int(self.access_mode) & AccessProtection.READ)
        return int(self.access_mode) in _READABLE

    @property
    def writable(self) -> bool:
        """True when the association may write the attribute."""
        if self.bit_field:
            return bool(int(self.access_mode) & AccessProtection.WRITE)
        return int(self.access_mode) in _WRITABLE


@dataclass(frozen=True, slots=True)
class MethodAccess:
    """The access right to one method."""

    method_id: int
    access_mode: MethodAccessMode | AccessProtection | int
    bit_field: bool = False

    @property
    def accessible(self) -> bool:
        """True when the association may invoke the method."""
        if self.bit_field:
            return bool(int(self.access_mode) & AccessProtection.READ)
        return int(self.access_mode) in (1, 2)


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object of the association's view: class, version, logical name, access rights.

    ``problems`` lists what was read tolerantly (empty for a well-formed entry).
    """

    class_id: int
    version: int
    logical_name: Obis
    attribute_access: tuple[AttributeAccess, ...] = ()
    method_access: tuple[MethodAccess, ...] = ()
    access_rights_present: bool = True
    problems: tuple[str, ...] = ()

    @property
    def interface_class(self) -> InterfaceClass:
        """The class definition (generic for a class the table does not know)."""
        return interface_class(self.class_id, self.version)

    def attribute_access_for(self, attribute_id: int) -> AttributeAccess | None:
        """The access right listed for ``attribute_id`` (``None`` when not listed)."""
        for item in self.attribute_access:
            if item.attribute_id == attribute_id:
                return item
        return None

    def method_access_for(self, method_id: int) -> MethodAccess | None:
        """The access right listed for ``method_id`` (``None`` when not listed)."""
        for item in self.method_access:
            if item.method_id == method_id:
                return item
        return None

    def __str__(self) -> str:
        return f"{self.class_id}/{self.logical_name} (version {self.version})"


@dataclass(frozen=True, slots=True)
class ObjectList:
    """A parsed object list: the entries read, and the entries skipped with why."""

    entries: tuple[ObjectListEntry, ...]
    skipped: int = 0
    problems: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[ObjectListEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> ObjectListEntry:
        return self.entries[index]

    def find(self, logical_name: ObisLike, class_id: int | None = None) -> ObjectListEntry | None:
        """The first entry with this logical name (and class id, if given)."""
        obis = Obis(logical_name)
        for entry in self.entries:
            if entry.logical_name == obis and (class_id is None or entry.class_id == class_id):
                return entry
        return None

    def by_class(self, class_id: int) -> tuple[ObjectListEntry, ...]:
        """Every entry of class ``class_id``."""
        return tuple(entry for entry in self.entries if entry.class_id == class_id)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sequence(value: object) -> Sequence[Any] | None:
    return value if isinstance(value, (tuple, list)) else None


def _read_attribute_access(
    item: object, bit_field: bool, problems: list[str]
) -> AttributeAccess | None:
    fields = _sequence(item)
    if fields is None or len(fields) < 2 or not _is_int(fields[0]):
        problems.append(f"attribute access item {item!r} dropped: not {{id, access_mode, ...}}")
        return None
    mode_value = fields[1]
    if isinstance(mode_value, bool):
        mode_value = 3 if mode_value else 0
    if not _is_int(mode_value):
        problems.append(f"attribute {fields[0]}: access_mode {mode_value!r} dropped")
        return None
    if len(fields) > 3:
        problems.append(f"attribute {fields[0]}: {len(fields)} elements, extra ignored")
    selectors: tuple[int, ...] | None = None
    if len(fields) >= 3 and fields[2] is not None:
        raw_selectors = _sequence(fields[2])
        if raw_selectors is not None and all(_is_int(s) for s in raw_selectors):
            selectors = tuple(int(s) for s in raw_selectors)
        elif _is_int(fields[2]):
            selectors = (int(fields[2]),)
        else:
            problems.append(f"attribute {fields[0]}: access_selectors {fields[2]!r} ignored")
    mode: AttributeAccessMode | AccessProtection | int
    if bit_field:
        mode = AccessProtection(int(mode_value) & 0xFF)
    else:
        mode = _enum_or_int(AttributeAccessMode, int(mode_value))
    return AttributeAccess(int(fields[0]), mode, selectors, bit_field)


def _read_method_access(item: object, bit_field: bool, problems: list[str]) -> MethodAccess | None:
    fields = _sequence(item)
    if fields is None or len(fields) < 2 or not _is_int(fields[0]):
        problems.append(f"method access item {item!r} dropped: not {{id, access_mode}}")
        return None
    mode_value = fields[1]
    if isinstance(mode_value, bool):  # Association LN version 0
        return MethodAccess(
            int(fields[0]),
            MethodAccessMode.ACCESS if mode_value else MethodAccessMode.NO_ACCESS,
        )
    if not _is_int(mode_value):
        problems.append(f"method {fields[0]}: access_mode {mode_value!r} dropped")
        return None
    if len(fields) > 2:
        problems.append(f"method {fields[0]}: {len(fields)} elements, extra ignored")
    if bit_field:
        return MethodAccess(int(fields[0]), AccessProtection(int(mode_value) & 0xFF), True)
    return MethodAccess(int(fields[0]), _enum_or_int(MethodAccessMode, int(mode_value)))


def _read_entry(element: object, bit_field: bool) -> ObjectListEntry:
    fields = _sequence(element)
    if fields is None:
        raise CosemValueError(f"not a structure: {element!r}")
    if len(fields) < 3:
        raise CosemValueError(f"{len(fields)} elements, at least class_id, version, logical_name")
    class_id, version, name = fields[0], fields[1], fields[2]
    if not _is_int(class_id) or not 0 <= class_id <= 0xFFFF:
        raise CosemValueError(f"class_id {class_id!r} is not a long-unsigned")
    if not isinstance(name, (bytes, bytearray)) or len(name) != 6:
        raise CosemValueError(f"logical_name {name!r} is not an octet-string of 6 bytes")
    problems: list[str] = []
    if not _is_int(version):
        problems.append(f"version {version!r} is not an unsigned, read as 0")
        version = 0
    attributes: list[AttributeAccess] = []
    methods: list[MethodAccess] = []
    present = len(fields) >= 4
    if not present:
        problems.append("no access_rights")
    else:
        if len(fields) > 4:
            problems.append(f"{len(fields)} elements, extra ignored")
        rights = _sequence(fields[3])
        if rights is None or not rights:
            problems.append(f"access_rights {fields[3]!r} is not a structure")
            present = False
        else:
            attribute_items = _sequence(rights[0])
            if attribute_items is None:
                problems.append(f"attribute_access {rights[0]!r} is not an array")
            else:
                for item in attribute_items:
                    read = _read_attribute_access(item, bit_field, problems)
                    if read is not None:
                        attributes.append(read)
            if len(rights) >= 2:
                method_items = _sequence(rights[1])
                if method_items is None:
                    problems.append(f"method_access {rights[1]!r} is not an array")
                else:
                    for item in method_items:
                        method = _read_method_access(item, bit_field, problems)
                        if method is not None:
                            methods.append(method)
            else:
                problems.append("access_rights without method_access")
    return ObjectListEntry(
        int(class_id),
        int(version),
        Obis.from_bytes(name),
        tuple(attributes),
        tuple(methods),
        present,
        tuple(problems),
    )


_CURRENT_ASSOCIATION = bytes((0, 0, 40, 0, 0, 255))


def _current_association_version(elements: Sequence[Any]) -> int | None:
    """The version of the current association (0.0.40.0.0.255) as the list itself gives it."""
    for element in elements:
        fields = _sequence(element)
        if (
            fields is not None
            and len(fields) >= 3
            and fields[0] == 15
            and isinstance(fields[2], (bytes, bytearray))
            and bytes(fields[2]) == _CURRENT_ASSOCIATION
            and _is_int(fields[1])
        ):
            return int(fields[1])
    return None


def parse_object_list(value: object, *, association_version: int | None = None) -> ObjectList:
    """Association LN attribute 2 ``object_list`` as an :class:`ObjectList` (tolerant, see
    the module documentation).

    ``association_version`` is the version of the Association LN object whose list this is;
    from version 3 access modes are bit-fields. When not given, it is taken from the list's
    own entry for the current association (class 15, 0.0.40.0.0.255), if there is one.
    """
    elements = _sequence(value)
    if elements is None:
        raise CosemValueError(f"object_list must be an array, got {value!r}")
    if association_version is None:
        association_version = _current_association_version(elements)
    bit_field = association_version is not None and association_version >= 3
    entries: list[ObjectListEntry] = []
    problems: list[str] = []
    for position, element in enumerate(elements, start=1):
        try:
            entries.append(_read_entry(element, bit_field))
        except DlmsError as error:
            problems.append(f"entry {position} skipped: {error}")
    return ObjectList(tuple(entries), len(problems), tuple(problems))


@dataclass(frozen=True, slots=True)
class ShortNameObject:
    """An Association SN object_list element: base name, class id, version, logical name."""

    base_name: int
    class_id: int
    version: int
    logical_name: Obis

    def attribute_short_name(self, attribute: int) -> int:
        """The short name of attribute ``attribute`` (1-based)."""
        return attribute_short_name(self.base_name, attribute)

    def method_short_name(self, method: int) -> int:
        """The short name of method ``method`` (1-based), by the class's method offset."""
        return method_short_name(self.base_name, self.class_id, method)


def parse_short_name_object_list(value: object) -> tuple[ShortNameObject, ...]:
    """Association SN attribute 2 ``object_list``: ``array of structure {base_name long,
    class_id long-unsigned, version unsigned, logical_name octet-string}``.

    Malformed elements are skipped (like :func:`parse_object_list`); a value that is not an
    array raises :class:`CosemValueError`.
    """
    elements = _sequence(value)
    if elements is None:
        raise CosemValueError(f"object_list must be an array, got {value!r}")
    objects: list[ShortNameObject] = []
    for element in elements:
        fields = _sequence(element)
        if fields is None or len(fields) < 4 or not all(_is_int(f) for f in fields[:3]):
            continue
        name = fields[3]
        if not isinstance(name, (bytes, bytearray)) or len(name) != 6:
            continue
        objects.append(
            ShortNameObject(
                int(fields[0]) & 0xFFFF, int(fields[1]), int(fields[2]), Obis.from_bytes(name)
            )
        )
    return tuple(objects)


# ---------------------------------------------------------------------------------------------
# The other Association LN attributes


@dataclass(frozen=True, slots=True)
class AssociatedPartners:
    """Attribute 3 ``associated_partners_id``: the client and server SAPs."""

    client_sap: int
    server_sap: int


def parse_associated_partners(value: object) -> AssociatedPartners:
    """Attribute 3 ``associated_partners_id ::= structure {client_SAP integer, server_SAP
    long-unsigned}``."""
    fields = _sequence(value)
    if fields is None or len(fields) < 2 or not all(_is_int(f) for f in fields[:2]):
        raise CosemValueError(
            f"associated_partners_id must be {{client_SAP, server_SAP}}: {value!r}"
        )
    return AssociatedPartners(int(fields[0]), int(fields[1]))


def association_status(value: object) -> AssociationStatus | int:
    """Attribute 8 ``association_status`` (an unknown code stays an int)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"association_status must be an enum, got {value!r}")
    return _enum_or_int(AssociationStatus, value)


_DLMS_UA_PREFIX = bytes((0x60, 0x85, 0x74, 0x05, 0x08))  # 2.16.756.5.8 in BER


def _dlms_object_identifier(value: object, arc: int, what: str) -> int:
    """The last arc of 2.16.756.5.8.<arc>.x, as an encoded OID (octet-string) or, in
    Association LN version 0, a structure of the seven arcs as integers."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        if len(raw) == 7 and raw[:5] == _DLMS_UA_PREFIX and raw[5] == arc:
            return raw[6]
        raise CosemValueError(
            f"{what} {raw.hex()} is not a DLMS UA object identifier 2.16.756.5.8.{arc}.x"
        )
    fields = _sequence(value)
    if (
        fields is not None
        and len(fields) == 7
        and all(_is_int(f) for f in fields)
        and tuple(int(f) for f in fields[:6]) == (2, 16, 756, 5, 8, arc)
    ):
        return int(fields[6])
    raise CosemValueError(f"{what} must be an object identifier, got {value!r}")


def authentication_mechanism_name(value: object) -> MechanismName | int:
    """Attribute 6 ``authentication_mechanism_name`` (2.16.756.5.8.2.x) as its mechanism."""
    mechanism = _dlms_object_identifier(value, 2, "authentication_mechanism_name")
    return _enum_or_int(MechanismName, mechanism)


def application_context_name(value: object) -> ApplicationContextName | int:
    """Attribute 4 ``application_context_name`` (2.16.756.5.8.1.x) as its context."""
    context = _dlms_object_identifier(value, 1, "application_context_name")
    return _enum_or_int(ApplicationContextName, context)


@dataclass(frozen=True, slots=True)
class XdlmsContextInfo:
    """Attribute 5 ``xDLMS_context_info``."""

    conformance: Conformance
    max_receive_pdu_size: int
    max_send_pdu_size: int
    dlms_version_number: int
    quality_of_service: int | None
    cyphering_info: bytes

    @classmethod
    def from_value(cls, value: object) -> XdlmsContextInfo:
        """Read ``structure {conformance bit-string(24), max_receive_pdu_size long-unsigned,
        max_send_pdu_size long-unsigned, dlms_version_number unsigned, quality_of_service
        integer, cyphering_info octet-string}``."""
        fields = _sequence(value)
        if fields is None or len(fields) < 4:
            raise CosemValueError(f"xDLMS_context_info must be a structure of 6, got {value!r}")
        conformance = fields[0]
        if isinstance(conformance, BitString):
            bits = int.from_bytes(conformance.data.ljust(3, b"\0")[:3], "big")
        elif _is_int(conformance):
            bits = int(conformance)
        else:
            raise CosemValueError(f"conformance must be a bit-string, got {conformance!r}")
        numbers = fields[1:4]
        if not all(_is_int(n) for n in numbers):
            raise CosemValueError(f"xDLMS_context_info sizes must be integers: {value!r}")
        quality = fields[4] if len(fields) > 4 and _is_int(fields[4]) else None
        cyphering = fields[5] if len(fields) > 5 else b""
        if not isinstance(cyphering, (bytes, bytearray)):
            cyphering = b""
        return cls(
            Conformance(bits & 0xFFFFFF),
            int(numbers[0]),
            int(numbers[1]),
            int(numbers[2]),
            None if quality is None else int(quality),
            bytes(cyphering),
        )
