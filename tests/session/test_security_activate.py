"""``security_activate`` of the simulator's Security setup object puts the new security
policy in force for the next associations (Blue Book, class 64 version 1), not only in the
value read back: a client still using the old, weaker policy is refused afterwards; the
policy can only be strengthened; values the simulator cannot enforce are refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from asyncdlms.aio.security_setup import SecuritySetupClient
from asyncdlms.cosem.security_setup import SecurityPolicyFlags
from asyncdlms.errors import ActionError, AssociationRejectedError

from .test_suites_hls import make_setup

AUTHENTICATED = (
    SecurityPolicyFlags.AUTHENTICATED_REQUEST | SecurityPolicyFlags.AUTHENTICATED_RESPONSE
)
ALL = AUTHENTICATED | SecurityPolicyFlags.ENCRYPTED_REQUEST | SecurityPolicyFlags.ENCRYPTED_RESPONSE


@pytest.mark.parametrize("suite", [1, 2])
async def test_activated_policy_is_in_force_from_the_next_association(suite: int) -> None:
    weak = make_setup(suite, "auth")
    strong = replace(weak, policy="ae")  # the same client key and certificate
    async with weak.simulator(meters=2) as sim:
        weak_security = weak.client_security(sim)
        strong_security = strong.client_security(sim)
        # before: the meter wants authenticated APDUs; the "ae" client's encrypted ones are
        # not what the association applies, the "auth" client is served
        async with sim.connect(0, client=18, auth="ecdsa", security=weak_security) as meter:
            setup_object = SecuritySetupClient(meter)
            assert (await setup_object.read()).security_policy == AUTHENTICATED
            # weakening, or a value the simulator cannot enforce: refused, nothing changes
            for refused in (0x00, 0x04 | 0x20 | 0x08):
                with pytest.raises(ActionError):
                    await setup_object.security_activate(refused)
            await setup_object.security_activate(int(ALL))
            # this association goes on under the policy it was opened with
            assert await meter.get(1, "0.0.42.0.0.255", 2)
            assert (await setup_object.read()).security_policy == ALL
        # after: the "auth" client is refused, the "ae" one served with encrypted APDUs
        with pytest.raises(AssociationRejectedError):  # its AARQ is not encrypted
            async with sim.connect(0, client=18, auth="ecdsa", security=weak_security) as meter:
                await meter.get(1, "0.0.42.0.0.255", 2)
        async with sim.connect(0, client=18, auth="ecdsa", security=strong_security) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2)
            with pytest.raises(ActionError):  # back to authentication only: a weakening
                await SecuritySetupClient(meter).security_activate(int(AUTHENTICATED))
        # the other meter has its own Security setup: still authentication only
        other = weak.client_security(sim, index=1)
        async with sim.connect(1, client=18, auth="ecdsa", security=other) as meter:
            assert (await SecuritySetupClient(meter).read()).security_policy == AUTHENTICATED
