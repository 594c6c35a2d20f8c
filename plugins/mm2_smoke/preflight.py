"""Before step 1.1: the run's Params and connections are checked, then the metric contract, so that nothing is
produced on a run that cannot work.

- :func:`check_setup` (first in task ``preflight``): Params and connections, the one place they are checked; the
  result is pushed (the checklist's ``settings`` and ``connections`` rows) and a problem then stops the run
  (:meth:`Setup.raise_if_bad`), naming the Param or connection and the fix.
- :func:`metric_contract`: which naming profile the metrics store answers with **now** (``metric_profile=auto``
  detects it), and whether every series the run relies on (:meth:`~mm2_smoke.metrics.Queries.contract`) answers
  with a fresh sample. Judged by each series' newest sample time against this host's clock, never by the names a
  store lists (a name stays listed long after it stopped being scraped) nor by the store's own ``time()`` (a store
  that hides its newest samples, like VictoriaMetrics' ``-search.latencyOffset``, shifts it too).
- :func:`run` (task ``preflight``): the contract and the chain's state (:mod:`mm2_smoke.chain`: the source
  connector and its tasks, its topic filter, the test topics), as the report's ``preflight`` section and the
  settings every later task reads (the profile resolved). A certain fault ends a ``fail_fast`` run without producing.

Pure but for the ``prom`` argument (a :class:`~mm2_smoke.hooks.PrometheusHook`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mm2_smoke import chain
from mm2_smoke import dag_layout as layout
from mm2_smoke.chain import Finding
from mm2_smoke.checks import Check, Status
from mm2_smoke.errors import SettingsError, SetupError
from mm2_smoke.flows import ReplicationPolicy
from mm2_smoke.measured import Gap, Measured
from mm2_smoke.metrics import AUTO, PROFILES, Queries
from mm2_smoke.payloads import FindingDict, PreflightReport, SetupDict
from mm2_smoke.promql import Prometheus
from mm2_smoke.registry import spec
from mm2_smoke.settings import TOPIC_NEW_KEY, SmokeSettings, from_params

#: The contract's series that live in the Connect task metrics (the rest are MirrorSourceConnector per-topic ones).
TASK_SERIES = ("poll_total", "write_total", "active_count", "offset_commit_max_ms")


SETTINGS_CHECK, CONNECTIONS_CHECK = spec("settings"), spec("connections")


@dataclass(frozen=True)
class Setup:
    """The Params and connections as the pre-flight found them (its XCom ``setup``; the checklist's first rows).

    :param settings: the validated settings (None when a Param is invalid).
    :param settings_error: the invalid Param and its fix ('' when valid).
    :param conns: the connections the run needs, comma-separated.
    :param problems: every problem of those connections, each naming the connection and the fix.
    :param tls: each Kafka connection's TLS posture, in words.
    :param warnings: what weakens the smoke test's own connections (TLS verification off...).
    """

    settings: dict[str, Any] | None
    settings_error: str = ""
    conns: str = ""
    problems: list[str] = field(default_factory=list)
    tls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The invalid Param's own error (with its ``field``), when this object saw it raised; not serialized.
    error: SettingsError | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> SetupDict:
        return {"settings": self.settings, "settings_error": self.settings_error, "conns": self.conns,
                "problems": self.problems, "tls": self.tls, "warnings": self.warnings}

    @classmethod
    def from_dict(cls, d: SetupDict | None) -> Setup | None:
        return cls(**d) if d else None

    def raise_if_bad(self) -> dict[str, Any]:
        """The validated settings.

        :raises SettingsError: naming the first invalid Param.
        :raises SetupError: listing every missing or incomplete connection with its fix.
        """
        if self.settings is None:
            raise self.error or SettingsError(self.settings_error)
        if self.problems:
            raise SetupError(self.problems)
        return self.settings

    def checks(self) -> list[Check]:
        """The checklist's ``settings`` and ``connections`` rows."""
        where = layout.PREFLIGHT.id
        out = [SETTINGS_CHECK.go("valid", SETTINGS_CHECK.go_rule, where) if self.settings is not None else
               SETTINGS_CHECK.unknown(SETTINGS_CHECK.go_rule, where, f"invalid Param: {self.settings_error}",
                                      Gap.OWN_SETUP)]
        rule = CONNECTIONS_CHECK.threshold(conns=self.conns)
        out.append(CONNECTIONS_CHECK.unknown(rule, "Airflow connections", " | ".join(self.problems), Gap.OWN_SETUP)
                   if self.problems else CONNECTIONS_CHECK.go("defined", rule, "Airflow connections"))
        return out


def check_setup(params: dict[str, Any]) -> Setup:
    """The ``preflight`` task's first part: the Params validated and the run's connections checked (without
    connecting). Never raises: :meth:`Setup.raise_if_bad` does, after the task pushed the result."""
    from mm2_smoke.hooks import check_connections

    error: SettingsError | None = None
    try:
        settings: dict[str, Any] | None = from_params(params).to_dict()
    except SettingsError as exc:
        settings, error = None, exc
    mode = (settings or params).get("mm2_mode")
    kafka = _kafka_conns(settings)
    needed = kafka + layout.http_conns(mode)
    problems, postures = check_connections(kafka, layout.http_conns(mode))
    return Setup(settings, str(error or ""), ", ".join(needed), problems, [p.summary() for p in postures],
                 [w for p in postures for w in p.warnings()], error)


def _kafka_conns(settings: dict[str, Any] | None) -> tuple[str, ...]:
    """The Kafka connections the Params name: those of ``cluster_connections`` when it maps the aliases, else
    today's two (a flow's other clusters are checked once the flows are known: ``topology.plan_checked``)."""
    from mm2_smoke.settings import cluster_connections

    mapping = cluster_connections(from_params(settings)) if settings else {}
    return tuple(sorted(set(mapping.values()))) if mapping else layout.KAFKA_CONNS


def validate_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The validated settings every later task reads (:func:`check_setup`, raising on a problem).

    :raises SettingsError: naming the first invalid Param.
    :raises SetupError: listing every missing or incomplete connection with its fix.
    """
    return check_setup(params).raise_if_bad()


# --- the metric contract -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeriesAge:
    """How fresh one series of the contract is.

    :param measurement: the contract's name for it (``poll_total``, ``record_count``...).
    :param selector: the series selector asked for.
    :param age_s: seconds between its newest sample and now (this host's clock); None when there is no sample.
    :param reason: why it is not fresh ('' when it is).
    """

    measurement: str
    selector: str
    age_s: float | None
    reason: str = ""

    @property
    def fresh(self) -> bool:
        return not self.reason


def series_age(prom: Prometheus, measurement: str, selector: str, now_s: float, max_age_s: float) -> SeriesAge:
    """The newest sample of ``selector`` (``max(timestamp(...))``), judged against ``max_age_s``."""
    answer: Measured = prom.query(f"max(timestamp({selector}))")
    newest = answer.number
    if newest is None:
        why = "no series" if answer.empty else answer.reason
        return SeriesAge(measurement, selector, None, why)
    age = round(now_s - newest, 3)
    if age > max_age_s:
        return SeriesAge(measurement, selector, age, f"stale: newest sample {age:.0f} s old (more than "
                                                     f"metric_max_age_s={max_age_s:g}): no longer scraped?")
    return SeriesAge(measurement, selector, age)


@dataclass(frozen=True)
class ProfileProbe:
    """The contract's series of one naming profile, as the store answers now."""

    profile: str
    series: tuple[SeriesAge, ...]

    @property
    def ok(self) -> bool:
        return all(s.fresh for s in self.series)

    @property
    def fresh_count(self) -> int:
        return sum(s.fresh for s in self.series)

    @property
    def missing(self) -> list[SeriesAge]:
        return [s for s in self.series if not s.fresh]

    @property
    def unreachable(self) -> bool:
        """Nothing answered at all (the store itself could not be asked)."""
        return all(s.age_s is None and s.reason != "no series" for s in self.series)


def probe(prom: Prometheus, queries: Queries, now_s: float, max_age_s: float) -> ProfileProbe:
    """Ask the store for every series of ``queries``' contract (stops at the first unreachable answer)."""
    out: list[SeriesAge] = []
    for measurement, selector in queries.contract().items():
        age = series_age(prom, measurement, selector, now_s, max_age_s)
        out.append(age)
        if age.age_s is None and age.reason != "no series":  # the store did not answer: asking more says nothing
            out += [SeriesAge(m, s, None, age.reason) for m, s in list(queries.contract().items())[len(out):]]
            break
    return ProfileProbe(queries.names.name, tuple(out))


@dataclass(frozen=True)
class Contract:
    """What the metric contract found.

    :param profile: the naming profile the run reads (detected, or the one asked for).
    :param status: GO (every series fresh), UNKNOWN (some missing or stale: the run cannot measure).
    :param detected: the profile came from ``metric_profile=auto``.
    :param summary: one paragraph for people: what was chosen and why, what is missing, what to do.
    :param store_lag_s: age of the newest task sample (the store's lag behind this host, plus a scrape interval).
    :param missing: the series of ``profile`` that did not answer fresh.
    :param probes: each profile asked, with its fresh and missing series.
    :param later: series of ``profile`` that may appear only once records flow (latency), absent now.
    """

    profile: str
    status: Status
    detected: bool
    summary: str
    store_lag_s: float | None = None
    missing: list[dict[str, Any]] = field(default_factory=list)
    probes: dict[str, str] = field(default_factory=dict)
    later: list[str] = field(default_factory=list)
    fresh_any: bool = True  # some profile's series answered fresh (False: MM2 is silent in a store that answered)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d


def _hint(p: ProfileProbe) -> str:
    """What a partial match usually means."""
    task_ok = all(s.fresh for s in p.series if s.measurement in TASK_SERIES)
    mirror_missing = [s for s in p.series if s.measurement not in TASK_SERIES and not s.fresh]
    if task_ok and mirror_missing and len(mirror_missing) == len(p.series) - len(TASK_SERIES):
        return (" The Connect task series answer but no MirrorSourceConnector per-topic series does: exporter "
                "rules that need the MBean's `source` tag match nothing on Kafka 3.x (it adds the tag only with "
                "add.source.alias.to.metrics=true), and Kafka 4.3 with metric.names.formats=new moves them to "
                "kafka.connect:type=plugins (profile kafka-new).")
    return ""


def _targets_down(prom: Prometheus) -> str:
    """The store's own word on its scrape targets, when some are down (``up == 0``): a broken scrape (wrong address,
    exporter not listening, TLS or auth refused) leaves series stale or absent whatever the rules."""
    down, total = prom.query("count(up == 0)"), prom.query("count(up)")
    if not down.ok or not down.value:
        return ""
    of = f" of {total.value:g}" if total.ok else ""
    return (f" The store reports {down.value:g}{of} scrape target(s) down (up == 0): is the exporter listening at the "
            "address the store scrapes (see its targets page)?")


def _listing(series: Sequence[SeriesAge]) -> str:
    """The missing series by reason: ``a, b (no series); c (stale: ...)`` (metric names; selectors in the report's
    ``missing``)."""
    by_reason: dict[str, list[str]] = {}
    for s in series:
        by_reason.setdefault(s.reason, []).append(s.selector.split("{")[0])
    return "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())


def metric_contract(prom: Prometheus, settings: SmokeSettings, now_s: float | None = None) -> Contract:
    """Detect (``auto``) or check the naming profile, and that every series the run relies on is fresh."""
    now_s = time.time() if now_s is None else now_s
    asked = settings.metric_profile
    names = list(PROFILES) if asked == AUTO else [asked, *(p for p in PROFILES if p != asked)]
    probes: dict[str, ProfileProbe] = {}
    for name in names:
        probes[name] = probe(prom, settings.queries_for(name), now_s, settings.metric_max_age_s)
        if probes[name].unreachable:
            break  # the store is down: the other profiles would say the same
        if asked != AUTO and name == asked and probes[name].ok:
            break  # the explicit profile answers: nothing else to look for
    summary = {n: f"{p.fresh_count}/{len(p.series)} fresh" for n, p in probes.items()}
    first = probes[names[0]]
    if first.unreachable:
        return Contract(asked if asked != AUTO else names[0], Status.UNKNOWN, asked == AUTO,
                        f"the metrics store could not be asked: {first.series[0].reason}",
                        missing=[asdict(s) for s in first.series[:1]], probes=summary)
    fresh_any = any(p.fresh_count for p in probes.values())
    if asked == AUTO:
        answering = [p for p in probes.values() if p.ok]
        chosen = answering[0] if answering else max(probes.values(), key=lambda p: p.fresh_count)
        others = ", ".join(f"{n}: {s}" for n, s in summary.items() if n != chosen.profile)
        if chosen.ok:
            text = (f"metric profile {chosen.profile!r} detected: its {len(chosen.series)} contract series answer "
                    f"fresh (other profiles: {others})")
        elif chosen.fresh_count:
            text = (f"no profile answers in full; the closest, {chosen.profile!r}, misses: {_listing(chosen.missing)}."
                    f"{_hint(chosen)} Other profiles: {others}")
        else:
            text = (f"no MirrorMaker 2 series of any profile answers for connector selector "
                    f"{settings.connector_regex!r} (asked: {', '.join(names)}): is MM2 running, is its exporter "
                    f"scraped by this store, do its rules produce one of these profiles?")
    else:
        chosen = probes[asked]
        if chosen.ok:
            text = f"metric profile {asked!r} (as asked): its {len(chosen.series)} contract series answer fresh"
        else:
            alternative = next((p.profile for p in probes.values() if p.profile != asked and p.ok), None)
            text = (f"metric_profile={asked!r}: {len(chosen.missing)} of its {len(chosen.series)} contract series do not "
                    f"answer: {_listing(chosen.missing)}.{_hint(chosen)}"
                    + (f" The {alternative!r} profile's series answer: set metric_profile={alternative} (or auto)."
                       if alternative else ""))
    if not chosen.ok:
        text += _targets_down(prom)
    lag = min((s.age_s for s in chosen.series if s.fresh and s.measurement in TASK_SERIES and s.age_s is not None),
              default=None)
    later = []
    if chosen.ok:
        for measurement, selector in settings.queries_for(chosen.profile).contract_later().items():
            if not series_age(prom, measurement, selector, now_s, settings.metric_max_age_s).fresh:
                later.append(selector.split("{")[0])
    return Contract(chosen.profile, Status.GO if chosen.ok else Status.UNKNOWN, asked == AUTO, text, lag,
                    [asdict(s) for s in chosen.missing], summary, later, fresh_any)


# --- the pre-flight task --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """The pre-flight's result: its report section, the settings later tasks read, and whether to produce.

    :param status: GO, NOGO or UNKNOWN (``fail_fast`` stopped the run), WARN (``warn`` mode found something and the
        run goes on), OFF (``off``: nothing stops the run).
    :param proceed: step 1.1 runs.
    """

    status: str
    findings: list[Finding]
    seconds: float
    proceed: bool
    settings: dict[str, Any]
    contract: Contract

    def report(self) -> PreflightReport:
        """The report's ``preflight`` section."""
        return {"status": self.status, "findings": [finding_dict(f) for f in self.findings], "seconds": self.seconds,
                "metric_profile": self.contract.profile, "profile_detected": self.contract.detected,
                "store_lag_s": self.contract.store_lag_s}


def finding_dict(f: Finding) -> FindingDict:
    """A finding as the report's ``preflight.findings[]`` holds it (:meth:`Finding.to_dict`'s keys)."""
    return {"check": f.check, "status": f.status.value, "certain": f.certain, "message": f.message,
            "evidence": f.evidence, "value": f.value, "threshold": f.threshold}


def _create_test_topic(source: Any, s: SmokeSettings) -> Finding:
    """Create the missing test topic (``test_topic_missing=create``, as the runbook's bomber does): a GO finding
    that says so, or UNKNOWN with why it could not be created (step 1.1's producer then fails with its own words)."""
    from mm2_smoke.step_1_1_produce import ensure_test_topic

    created, error = ensure_test_topic(source, s)
    if created:
        return Finding("source_topic_created", Status.GO, False, created, "source admin API: CreateTopics",
                       "created", "exists on source")
    return Finding("source_topic_created", Status.UNKNOWN, False, f"the test topic {s.source_topic} is missing and "
                   f"could not be created: {error}", "source admin API: CreateTopics", "not created", "exists on source")


def _await_contract(prom: Prometheus, s: SmokeSettings, state: Any, connect: Any = None) -> Contract:
    """After creating the test topic: MM2 assigns it to a task at its next topic refresh, and the task's series
    come with it. Wait until a task is assigned a partition of the topic (Connect REST, when it can say) and the
    contract answers, for the refresh interval (bounded by :data:`CREATED_TOPIC_WAIT_S`). The series of the task
    before the reassignment may still be fresh: the contract alone does not tell that MM2 reads the new topic."""
    cfg = state.config.body if state is not None and state.config is not None and isinstance(state.config.body,
                                                                                               dict) else {}
    try:
        refresh = float(cfg.get("refresh.topics.interval.seconds", 600))
    except ValueError:
        refresh = 600.0
    deadline = time.monotonic() + min(refresh + 2 * s.poke_interval_s + 10, CREATED_TOPIC_WAIT_S)
    assigned: bool | None = None
    while True:
        if connect is not None and not assigned:
            assigned = chain.topic_assigned(connect, s)
        contract = metric_contract(prom, s)
        if (contract.status is Status.GO and assigned is not False) or time.monotonic() >= deadline:
            break
        time.sleep(min(s.poke_interval_s, 2.0))
    if contract.status is not Status.GO:
        contract = replace(contract, summary=contract.summary + f" The test topic was just created: MM2 starts its "
                           f"task at its next topic refresh (refresh.topics.interval.seconds={refresh:g}); rerun after "
                           "it.")
    return contract


#: The longest the pre-flight waits for MM2 to pick up a test topic it just created, in seconds.
CREATED_TOPIC_WAIT_S = 45.0


def decide(mode: str, findings: Sequence[Finding]) -> tuple[str, bool]:
    """The pre-flight's status and whether the run produces, for ``preflight_mode`` ``mode``."""
    bad = [f for f in findings if f.status is not Status.GO]
    if mode == "off":
        return "OFF", True
    if mode == "fail_fast":
        certain = [f.status for f in bad if f.certain]
        if certain:
            return (Status.NOGO if Status.NOGO in certain else Status.UNKNOWN).value, False
    return ("WARN" if bad else Status.GO.value), True


def exported_states(prom: Prometheus, s: SmokeSettings) -> list[str]:
    """The connector states whose exported status series is 1 now, for the run's profile and selector."""
    queries = s.queries
    return [st for st in chain.CONNECTOR_STATES if prom.query(queries.connector_in_state(st)).value == 1]


def resolve_naming(s: SmokeSettings, state: chain.ChainState) -> tuple[SmokeSettings, Finding | None]:
    """``replication_policy=auto``: the remote topic's naming as the MirrorSourceConnector's config says (policy class
    and separator), with the finding that says so; the settings unchanged (still ``auto``, read as the default
    policy with the ``replication_separator`` Param) when the config could not be read."""
    config = state.config
    if config is None or config.status != 200 or not isinstance(config.body, dict):
        return s, None
    policy = ReplicationPolicy.from_config(config.body)
    resolved = replace(s, replication_policy=policy.kind,
                       replication_separator=policy.separator or s.replication_separator)
    read = ", ".join(f"{k}={config.body[k]}" for k in ("replication.policy.class", "replication.policy.separator")
                     if k in config.body) or "no replication.policy.* key: MM2's defaults"
    return resolved, Finding("replication_policy", Status.GO, False,
                             f"remote topic {resolved.remote_topic} ({policy.spelled} replication policy, from the "
                             f"config of {s.source_connector})", f"{chain.connector_path(s.source_connector)}/config: "
                             f"{read}", policy.spelled, "read from the connector's config")


def run(prom: Prometheus, settings: dict[str, Any], connect: Any = None, source: Any = None,
        target: Any = None) -> Outcome:
    """The ``preflight`` task: the metric contract (profile resolved), the chain's state (unless ``preflight_mode``
    is ``off``), then the decision.

    :param settings: the validated settings (:func:`validate_settings`' result).
    :param connect: a :class:`~mm2_smoke.hooks.ConnectHook` (None: the chain is not read).
    :param source: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the source cluster (None: not read).
    :param target: the same for the target cluster.
    """
    t0 = time.monotonic()
    s = from_params(settings)
    state = chain.read(connect, source, target, s) if s.preflight_mode != "off" and connect is not None else None
    naming = None
    if state is not None and s.replication_policy == AUTO:
        resolved, naming = resolve_naming(s, state)
        if resolved.remote_topic != s.remote_topic:
            state = chain.read(connect, source, target, resolved)  # the remote topic under the connector's policy
        s = resolved
    created = None
    if state is not None and state.source_topic_exists is False and s.test_topic_missing == "create" and source:
        created = _create_test_topic(source, s)
    contract = metric_contract(prom, s)
    if created is not None and created.status is Status.GO:
        contract = _await_contract(prom, s, state, connect)
        state = chain.read(connect, source, target, s)  # the topic, and MM2's task for it, as they are now
    evidence = "; ".join(f"{p}: {v}" for p, v in contract.probes.items())
    findings = [Finding("metric_contract", contract.status, True, contract.summary, evidence, contract.profile,
                        f"every series of the profile answers, newest sample <= {s.metric_max_age_s:g} s old")]
    if contract.later:
        findings.append(Finding("metric_contract_later", Status.UNKNOWN, False,
                                f"no series yet for {', '.join(contract.later)}: MirrorMaker's latency reads NaN until "
                                "a record is replicated (a store that drops NaN samples has none then); step 1.3 "
                                "reads them after production"))
    if created is not None:
        findings.append(created)
    if naming is not None:
        findings.append(naming)
    if state is not None:
        findings += chain.findings(state, s.test_topic_missing)
        if state.status.status is None and contract.fresh_any:  # Connect REST cannot say: the exported status can
            findings += chain.exported_status_findings(exported_states(prom, s.with_profile(contract.profile)),
                                                       s.connector_regex)
        if contract.status is not Status.GO and not contract.fresh_any:
            if state.status.status is None and s.mm2_mode == "connect":
                findings.insert(1, chain.worker_down(state))
            elif target is not None:  # the second witness: MM2's heartbeats on target
                silent = chain.mm2_silent(state, chain.heartbeat_age_s(target, time.time() * 1000),
                                          s.heartbeat_max_age_s)
                if silent is not None:
                    findings.insert(1, silent)
    status, proceed = decide(s.preflight_mode, findings)
    resolved = s.with_profile(contract.profile).to_dict()  # with the naming resolved too
    if created is not None and created.status is Status.GO:
        resolved[TOPIC_NEW_KEY] = True
    return Outcome(status, findings, round(time.monotonic() - t0, 3), proceed, resolved, contract)
