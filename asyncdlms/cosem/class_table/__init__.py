"""The class table of :mod:`asyncdlms.cosem.classes`, one module per Blue Book chapter.

- :mod:`.definitions`: :class:`~.definitions.InterfaceClass` and how entries are built;
- :mod:`.measurement`: parameters and measurement data (4.3);
- :mod:`.management`: access control and management (4.4);
- :mod:`.control`: time- and event-bound control (4.5);
- :mod:`.payment`: payment metering (4.6);
- :mod:`.communication`: data exchange: ports, modems, M-Bus, internet, wireless (4.7 on).

Look classes up through :mod:`asyncdlms.cosem.classes`, which assembles these parts.
"""
