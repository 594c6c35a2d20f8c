"""Step 1.4: every delivered message of this run on target, by sequence number."""

from __future__ import annotations

from mm2_smoke.checks import Status
from mm2_smoke.measured import Gap
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.step_1_4_target_count import CountResult, check_target_count, checklist_part, missing_and_duplicates

S = SmokeSettings()


def test_missing_and_duplicates_by_sequence() -> None:
    missing, dups = missing_and_duplicates(range(1, 6), [1, 2, 2, 4, 4, 4, 9])
    assert missing == [3, 5]
    assert dups == [2, 4]


def test_target_count_exact_by_default() -> None:
    assert check_target_count(CountResult(100, [], []), 100, S, "ev")[0].status is Status.GO
    c = check_target_count(CountResult(99, [42], []), 100, S, "ev")[0]
    assert c.status is Status.NOGO and "seq 42" in c.reason
    tolerant = SmokeSettings(missing_tolerance=1)
    assert check_target_count(CountResult(99, [42], []), 100, tolerant, "ev")[0].status is Status.GO


def test_zero_on_target_is_nogo_and_unreadable_target_is_unknown() -> None:
    c = check_target_count(CountResult(0, list(range(1, 101)), [], note="the remote topic does not exist"), 100, S, "e")
    assert c[0].status is Status.NOGO and "does not exist" in c[0].reason
    u = check_target_count(CountResult.unreadable("not authorized"), 100, S, "e")[0]
    assert u.status is Status.UNKNOWN and u.reason == "not authorized" and u.gap is Gap.UNREACHABLE


def test_untagged_perf_test_records_are_counted_by_number() -> None:
    ok = CountResult(100, [], [], untagged=True)
    assert check_target_count(ok, 100, S, "ev")[0].status is Status.GO
    short = CountResult(97, [], [], untagged=True)
    c = check_target_count(short, 100, S, "ev")[0]
    assert c.status is Status.NOGO and "3 fewer records" in c.reason
    assert short.missing_count(100) == 3


def test_count_result_round_trips_and_duplicates_are_noted() -> None:
    r = CountResult(100, [], [7, 9], foreign=3)
    assert CountResult.from_dict(r.to_dict()) == r
    u = CountResult.unreadable("boom", [2, 1])
    assert CountResult.from_dict(u.to_dict()) == u and u.missing == [1, 2]
    tolerant = SmokeSettings(duplicates_tolerance=2)
    checks, notes = checklist_part(tolerant, r.to_dict(), 100)
    assert [c.status for c in checks] == [Status.GO, Status.GO]
    assert notes == ["2 duplicate(s) on target: seq 7, 9 (within duplicates_tolerance=2: GO)"]
    [c], _ = checklist_part(S, None, None)
    assert c.status is Status.UNKNOWN and c.gap is Gap.NOT_MEASURED


def test_duplicates_above_the_tolerance_are_nogo_naming_the_first_seqs() -> None:
    dups = list(range(3, 33))
    [count, dup] = check_target_count(CountResult(100, [], dups), 100, S, "ev")
    assert count.status is Status.GO, "every delivered message is there: the count itself holds"
    assert dup.name == "duplicates_on_target" and dup.step == "1.4" and dup.status is Status.NOGO
    assert dup.value == 30 and dup.threshold.startswith("<= 0 ")
    assert "30 sequence number(s)" in dup.reason and "seq 3, 4, 5" in dup.reason and "22 ..." in dup.reason
    assert "32" not in dup.reason and "duplicates_tolerance=0" in dup.reason
    checks, notes = checklist_part(S, CountResult(100, [], dups).to_dict(), 100)
    assert [c.status for c in checks] == [Status.GO, Status.NOGO] and notes == []


def test_duplicates_at_the_tolerance_are_go_and_above_by_one_is_nogo() -> None:
    seven = CountResult(100, [], [1, 2, 3, 4, 5, 6, 7])
    assert check_target_count(seven, 100, SmokeSettings(duplicates_tolerance=7), "ev")[1].status is Status.GO
    assert check_target_count(seven, 100, SmokeSettings(duplicates_tolerance=6), "ev")[1].status is Status.NOGO
    [_, none] = check_target_count(CountResult(100, [], []), 100, S, "ev")
    assert none.status is Status.GO and none.value == 0


def test_missing_and_duplicates_are_two_rows_and_untagged_or_unread_counts_judge_no_duplicates() -> None:
    [count, dup] = check_target_count(CountResult(99, [42], [7]), 100, S, "ev")
    assert (count.status, dup.status) == (Status.NOGO, Status.NOGO) and "seq 42" in count.reason
    assert "seq 7" in dup.reason
    assert [c.name for c in check_target_count(CountResult(100, [], [], untagged=True), 100, S, "ev")] == [
        "messages_on_target"]
    assert len(check_target_count(CountResult.unreadable("boom"), 100, S, "ev")) == 1
    assert len(check_target_count(CountResult(0, [1], []), 1, S, "ev")) == 1


def test_the_duplicates_tolerance_is_a_validated_param() -> None:
    from mm2_smoke.errors import SettingsError
    from mm2_smoke.settings import from_params, param_specs

    default, schema = param_specs()["duplicates_tolerance"]
    assert default == 0 and schema["type"] == "integer" and schema["minimum"] == 0
    assert from_params({"duplicates_tolerance": "3"}).duplicates_tolerance == 3
    for bad in (-1, 1.5, "x"):
        try:
            from_params({"duplicates_tolerance": bad})
        except SettingsError as exc:
            assert exc.field == "duplicates_tolerance"
        else:
            raise AssertionError(f"{bad!r} accepted")
