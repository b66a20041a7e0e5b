"""``asyncdlms simulate``: the options build the simulator they say; a short run serves."""

from __future__ import annotations

import argparse

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.cli.simulate import (
    add_simulate_command,
    associations_from_arguments,
    simulator_from_arguments,
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_simulate_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["simulate", *argv])


def test_defaults() -> None:
    simulator = simulator_from_arguments(parse())
    assert len(simulator.meters) == 1
    assert simulator.config.interface == "wrapper"
    assert simulator.port == 4059 and not simulator.shared_port
    assert {c: p.mechanism for c, p in simulator.associations.items()} == {
        16: MechanismName.LOWEST,
        17: MechanismName.LOW,
        18: MechanismName.HIGH_MD5,
    }
    assert simulator.config.inactivity_timeout == 120.0
    assert simulator.faults is None


def test_options() -> None:
    args = parse(
        "--meters", "20", "--port", "0", "--shared-port", "--interface", "hdlc",
        "--auth", "sha1", "--client", "1", "--max-pdu", "256", "--max-info-length", "64",
        "--window", "3", "--inactivity-timeout", "0", "--latency", "0.1", "--jitter", "0.05",
        "--refuse", "3,4", "--silent", "5", "--load-profile-days", "2", "--billing-days", "3",
    )  # fmt: skip
    simulator = simulator_from_arguments(args)
    assert len(simulator.meters) == 20 and simulator.shared_port
    assert simulator.associations[1].mechanism == MechanismName.HIGH_SHA1
    assert simulator.max_pdu_size == 256
    assert simulator.config.hdlc_parameters.window_size_rx == 3
    assert simulator.config.hdlc_parameters.max_info_length_tx == 64
    assert simulator.config.inactivity_timeout is None
    assert simulator.faults is not None and simulator.faults.latency == 0.1
    assert simulator.refuse_associations == {3, 4}
    assert simulator._faults[5] is not None and simulator._faults[5].silent
    assert simulator.load_profile_days == 2 and simulator.billing_days == 3


def test_serial_lines_need_hdlc() -> None:
    simulator = simulator_from_arguments(
        parse("--interface", "hdlc", "--serial", "/dev/a", "--serial", "/dev/b", "--meters", "2")
    )
    assert simulator.serial_ports == ("/dev/a", "/dev/b")
    with pytest.raises(ValueError, match="HDLC"):
        simulator_from_arguments(parse("--serial", "/dev/a"))


def test_gmac_needs_the_keys() -> None:
    with pytest.raises(ValueError, match="block-cipher-key"):
        associations_from_arguments(parse("--auth", "gmac"))
    policies = associations_from_arguments(
        parse(
            "--auth",
            "gmac",
            "--security",
            "ae",
            "--block-cipher-key",
            "00" * 16,
            "--authentication-key",
            "11" * 16,
        )
    )
    assert policies[18].mechanism == MechanismName.HIGH_GMAC
    assert policies[18].security is not None


def test_a_short_run_prints_the_meters(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--meters", "3", "--port", "0", "--shared-port", "--duration", "0.05")
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert out.count("tcp://127.0.0.1:") == 3
    assert "server 3" in out


def test_bad_options_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--security", "ae", "--port", "0", "--duration", "0")
    assert args.handler(args) == 2
    assert "block-cipher-key" in capsys.readouterr().err


def test_iec_option_makes_serial_lines_optical_ports() -> None:
    from asyncdlms.iec62056_21 import IecResponderSettings

    simulator = simulator_from_arguments(
        parse("--interface", "hdlc", "--serial", "/dev/a", "--iec")
    )
    assert simulator.iec == IecResponderSettings()
    assert simulator_from_arguments(parse("--interface", "hdlc", "--serial", "/dev/a")).iec is None


def test_counter_hint_is_opt_in() -> None:
    """Strict by default, like most meters; --counter-hint answers invocation-counter-error
    with the counter expected, on every ciphered client SAP."""
    keys = ("--security", "ae", "--block-cipher-key", "00" * 16,
            "--authentication-key", "11" * 16)  # fmt: skip
    assert not simulator_from_arguments(parse(*keys)).invocation_counter_hint
    hinting = simulator_from_arguments(parse(*keys, "--counter-hint"))
    assert hinting.invocation_counter_hint
    policies = hinting._policies(0)
    securities = [p.security for p in policies.values() if p.security is not None]
    assert securities and all(s.invocation_counter_hint for s in securities)


def test_auth_key_is_spelt_as_the_clients_and_the_old_spelling_still_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = ("--auth", "gmac", "--security", "ae", "--block-cipher-key", "00" * 16)
    for spelling in ("--auth-key", "--authentication-key"):
        policies = associations_from_arguments(parse(*keys, spelling, "11" * 16))
        security = policies[18].security
        assert security is not None and security.authentication_key.value == b"\x11" * 16
    with pytest.raises(SystemExit):
        parse("--help")
    help_text = capsys.readouterr().out
    assert "[--auth-key HEX]" in help_text  # the old spelling: documented, not listed
    assert "[--authentication-key" not in help_text and "old spelling" in help_text


def test_system_title_of_the_meters() -> None:
    simulator = simulator_from_arguments(
        parse("--meters", "3", "--system-title", "4D4D4D0000BC614E")
    )
    assert [simulator.meter_system_title(i).hex() for i in range(3)] == [
        "4d4d4d0000bc614e", "4d4d4d0000bc614f", "4d4d4d0000bc6150"]  # fmt: skip
    default = simulator_from_arguments(parse("--meters", "2"))
    assert default.meter_system_title(1) == b"ADS" + (10_000_001).to_bytes(5, "big")
    for bad in ("4D4D4D", "not-hex!"):
        with pytest.raises(ValueError, match="--system-title"):
            simulator_from_arguments(parse("--system-title", bad))


def test_firmware_options() -> None:
    simulator = simulator_from_arguments(
        parse("--image-block-size", "400", "--verification-time", "5", "--activation-time", "2")
    )
    settings = simulator.image_transfer
    assert (settings.block_size, settings.verification_time, settings.activation_time) == (
        400,
        5.0,
        2.0,
    )
    assert simulator_from_arguments(parse()).image_transfer.block_size == 200
    assert simulator_from_arguments(parse("--max-pdu", "128")).image_transfer.block_size == 80
    # a block larger than one ACTION request of the max PDU goes in pblocks: kept as given
    larger = simulator_from_arguments(parse("--max-pdu", "128", "--image-block-size", "100"))
    assert larger.image_transfer.block_size == 100
