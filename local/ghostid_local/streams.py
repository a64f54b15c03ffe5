"""Local stand-in for Lambda's DynamoDB Streams event source mapping.

Reads a table's stream through the Streams API and calls a handler in-process with Lambda-shaped
batches, the way the template's ``Type: DynamoDB`` event configures it:

- shards in lineage order (a child only after its parent is finished), new shards picked up;
  shards never seen start at TRIM_HORIZON, known ones after their persisted checkpoint;
- ``FilterCriteria`` (EventBridge-pattern subset: value lists, ``prefix``, ``suffix``,
  ``anything-but``, ``exists``, ``numeric``, ``equals-ignore-case``); filtered-out records are
  consumed without an invocation;
- ``BatchSize``; ``ReportBatchItemFailures``: checkpoint before the lowest failed sequence number
  and redeliver from there (records after it again too, as Lambda does);
- a handler exception fails the whole batch; with ``BisectBatchOnFunctionError`` the batch is
  halved and retried (halving does not use up a retry);
- after ``MaximumRetryAttempts`` retries of the same position the failed records go to the sink
  (a Lambda-style on-failure record plus the records themselves) and the batch is skipped;
  records older than ``MaximumRecordAgeInSeconds`` go to the sink unprocessed.

``MaximumBatchingWindowInSeconds``, ``ParallelizationFactor`` and tumbling windows are not emulated.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

log = logging.getLogger("ghostid_local.streams")

Invoke = Callable[[dict[str, Any]], Any]
Sink = Callable[[dict[str, Any]], None]
_MISSING = object()


def _site_of(record: dict[str, Any]) -> str:
    """The record's `site_id` attribute, for the one-line batch log ("?" for items without one)."""
    return str(record["dynamodb"].get("NewImage", {}).get("site_id", {}).get("N", "?"))


# ----------------------------------------------------------------------------- template


@dataclass(frozen=True)
class StreamSource:
    """One ``Type: DynamoDB`` event of a function, as the template configures it."""

    function_id: str
    event_id: str
    table_id: str
    batch_size: int = 100
    filters: tuple[dict[str, Any], ...] = ()
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    bisect_on_error: bool = False
    report_item_failures: bool = False


def _table_of_stream(ref: Any) -> str:
    """``EventsTable`` from ``!GetAtt EventsTable.StreamArn`` (string or list form)."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        arg = ref["Fn::GetAtt"]
        return str(arg.split(".")[0] if isinstance(arg, str) else arg[0])
    raise ValueError(f"stream reference {ref!r} is not !GetAtt <Table>.StreamArn")


def stream_sources(template: Mapping[str, Any]) -> list[StreamSource]:
    """Every DynamoDB stream event of every function in the template."""
    out = []
    for fid, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for eid, ev in res.get("Properties", {}).get("Events", {}).items():
            if ev.get("Type") != "DynamoDB":
                continue
            p = ev.get("Properties", {})
            filters = tuple(
                json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"]
                for f in p.get("FilterCriteria", {}).get("Filters", [])
            )
            out.append(
                StreamSource(
                    function_id=fid,
                    event_id=eid,
                    table_id=_table_of_stream(p["Stream"]),
                    batch_size=int(p.get("BatchSize", 100)),
                    filters=filters,
                    maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
                    maximum_record_age_s=int(p.get("MaximumRecordAgeInSeconds", -1)),
                    bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
                    report_item_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                )
            )
    return out


# ----------------------------------------------------------------------------- filtering


def _match_value(cond: Any, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if not isinstance(cond, dict):
        return value is not _MISSING and any(v == cond for v in values)
    ((op, arg),) = cond.items()
    if op == "exists":
        return (value is not _MISSING) == bool(arg)
    if value is _MISSING:
        return False
    if op == "prefix":
        return any(isinstance(v, str) and v.startswith(arg) for v in values)
    if op == "suffix":
        return any(isinstance(v, str) and v.endswith(arg) for v in values)
    if op == "equals-ignore-case":
        return any(isinstance(v, str) and v.lower() == str(arg).lower() for v in values)
    if op == "anything-but":
        banned = arg if isinstance(arg, list) else [arg]
        if isinstance(arg, dict):
            return not any(_match_value(arg, v) for v in values)
        return all(v not in banned for v in values)
    if op == "numeric":
        return any(_numeric(arg, v) for v in values)
    raise ValueError(f"filter operator {op!r} is not supported locally")


def _numeric(spec: list[Any], value: Any) -> bool:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    ops: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return all(ops[spec[i]](x, float(spec[i + 1])) for i in range(0, len(spec), 2))


def matches_pattern(pattern: Mapping[str, Any], data: Any) -> bool:
    """Whether ``data`` (a Lambda record) matches one EventBridge-style filter pattern."""
    for key, cond in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(cond, dict):
            if not matches_pattern(cond, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(cond, list):
            if not any(_match_value(c, value) for c in cond):
                return False
        else:
            raise ValueError(f"filter pattern value for {key!r} must be a list or an object")
    return True


def matches_filters(filters: tuple[dict[str, Any], ...], record: Mapping[str, Any]) -> bool:
    """No filters: everything matches; otherwise any one filter must match (OR)."""
    return not filters or any(matches_pattern(f, record) for f in filters)


# ----------------------------------------------------------------------------- records


def _lambda_value(av: Any) -> Any:
    """A Streams-API AttributeValue in Lambda's JSON form: B/BS as base64 strings.

    DynamoDB Local's stream writes an empty map as ``{}`` instead of ``{"M": {}}``: repaired here.
    """
    if not isinstance(av, dict) or not av:
        return {"M": {}}
    ((kind, value),) = av.items()
    if kind == "B":
        return {"B": base64.b64encode(value).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode() for v in value]}
    if kind == "M":
        return {"M": _lambda_image(value)}
    if kind == "L":
        return {"L": [_lambda_value(v) for v in value]}
    return {kind: value}


def _lambda_image(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _lambda_value(av) for name, av in image.items()}


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda delivers to a DynamoDB stream handler."""
    src = record["dynamodb"]
    created = src.get("ApproximateCreationDateTime")
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(created.timestamp()) if isinstance(created, datetime) else created,
        "Keys": _lambda_image(src.get("Keys", {})),
    }
    for key in ("NewImage", "OldImage"):
        if key in src:
            ddb[key] = _lambda_image(src[key])
    ddb.update(
        SequenceNumber=src["SequenceNumber"],
        SizeBytes=src.get("SizeBytes", 0),
        StreamViewType=src.get("StreamViewType"),
    )
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        out["userIdentity"] = dict(record["userIdentity"])
    return out


def file_sink(path: Path) -> Sink:
    """A sink that appends each on-failure record as a JSON line to ``path``."""
    lock = threading.Lock()

    def write(entry: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with lock, path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    return write


# ----------------------------------------------------------------------------- poller


@dataclass
class _Shard:
    """Per-shard progress: ``after`` is the checkpoint (last sequence number done)."""

    after: str | None = None
    done: bool = False
    iterator: str | None = None
    exhausted: bool = False
    buffer: list[dict[str, Any]] = field(default_factory=list)
    cap: int = 0
    retry_at: str | None = None
    retries: int = 0
    attempts: int = 0
    not_before: float = 0.0


class StreamPoller:
    """Feeds one table's stream to one function like Lambda's event source mapping does.

    ``invoke(event)`` calls the handler (e.g. ``LocalFunction.invoke``). ``sink`` receives
    on-failure records (use ``file_sink(path)`` or ``list.append``). Checkpoints are kept in
    ``checkpoint_path`` (JSON) when given, so a restart resumes after the last checkpoint.
    A failed batch is retried after ``retry_backoff`` seconds, doubling per retry (at most 5 s).
    """

    def __init__(
        self,
        invoke: Invoke,
        source: StreamSource,
        table_name: str,
        *,
        dynamodb: DynamoDBClient,
        streams: DynamoDBStreamsClient,
        sink: Sink,
        checkpoint_path: Path | None = None,
        region: str | None = None,
        retry_backoff: float = 0.0,
    ) -> None:
        self.invoke = invoke
        self.source = source
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.streams = streams
        self.sink = sink
        self.checkpoint_path = checkpoint_path
        self.retry_backoff = retry_backoff
        self.region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        )
        self.function_arn = f"arn:aws:lambda:{self.region}:123456789012:function:{source.function_id}"
        self._lock = threading.Lock()
        self._stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._saved: dict[str, dict[str, dict[str, Any]]] = self._load_checkpoints()

    # -- checkpoints

    def _load_checkpoints(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self.checkpoint_path and self.checkpoint_path.is_file():
            data = json.loads(self.checkpoint_path.read_text(encoding="utf-8"))
            return dict(data.get("streams", {}))
        return {}

    def _persist(self) -> None:
        if self._stream_arn is None:
            return
        self._saved[self._stream_arn] = {
            sid: {"after": st.after, "done": st.done} for sid, st in self._shards.items()
        }
        if self.checkpoint_path is None:
            return
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "streams": self._saved}, indent=1), encoding="utf-8")
        tmp.replace(self.checkpoint_path)

    def _checkpoint(self, st: _Shard, seq: str) -> None:
        st.after = seq
        st.retry_at, st.retries, st.attempts = None, 0, 0
        self._persist()

    # -- stream discovery

    def _current_stream(self) -> str | None:
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if arn != self._stream_arn:
            self._stream_arn = arn
            saved = self._saved.get(arn, {}) if arn else {}
            self._shards = {
                sid: _Shard(after=s.get("after"), done=bool(s.get("done"))) for sid, s in saved.items()
            }
        return arn

    def _list_shards(self, arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            desc = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(desc.get("Shards", []))  # type: ignore[arg-type]
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    @staticmethod
    def _lineage_order(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {s["ShardId"]: s for s in shards}
        ordered: list[dict[str, Any]] = []
        seen: set[str] = set()

        def visit(s: dict[str, Any]) -> None:
            if s["ShardId"] in seen:
                return
            seen.add(s["ShardId"])
            parent = by_id.get(s.get("ParentShardId", ""))
            if parent is not None:
                visit(parent)
            ordered.append(s)

        for s in shards:
            visit(s)
        return ordered

    # -- polling

    def poll_once(self) -> bool:
        """One round over all shards (at most one batch each). Returns whether anything happened."""
        with self._lock:
            arn = self._current_stream()
            if arn is None:
                return False
            active = False
            shards = self._lineage_order(self._list_shards(arn))
            listed = {s["ShardId"] for s in shards}
            for shard in shards:
                sid = shard["ShardId"]
                st = self._shards.setdefault(sid, _Shard())
                parent = str(shard.get("ParentShardId") or "")
                if st.done or (parent in listed and not self._shards.get(parent, _Shard()).done):
                    continue
                active |= self._step(arn, sid, st)
            return active

    def _fetch(self, arn: str, sid: str, st: _Shard) -> bool:
        if st.iterator is None:
            kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": sid}
            if st.after:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=st.after)
            else:
                kwargs.update(ShardIteratorType="TRIM_HORIZON")
            try:
                st.iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
            except self.streams.exceptions.TrimmedDataAccessException:
                kwargs = {"StreamArn": arn, "ShardId": sid, "ShardIteratorType": "TRIM_HORIZON"}
                st.iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
        try:
            resp = self.streams.get_records(ShardIterator=st.iterator, Limit=1000)
        except self.streams.exceptions.ExpiredIteratorException:
            st.iterator, st.buffer = None, []  # refetch from the checkpoint next round
            return True
        except self.streams.exceptions.TrimmedDataAccessException:
            # DynamoDB Local numbers records across all tables, so an iterator taken on an empty shard
            # points before the first record that arrives: start over from the checkpoint/TRIM_HORIZON.
            log.debug("shard %s: iterator before the trim horizon; re-reading from the checkpoint", sid)
            st.iterator, st.buffer = None, []
            return True
        records = resp.get("Records", [])
        st.buffer.extend(records)  # type: ignore[arg-type]
        st.iterator = resp.get("NextShardIterator")
        st.exhausted = st.iterator is None
        return bool(records)

    def _step(self, arn: str, sid: str, st: _Shard) -> bool:
        if st.not_before > time.monotonic():
            return False  # backing off after a failed batch
        cap = st.cap or self.source.batch_size
        fetched = False
        if len(st.buffer) < cap and not st.exhausted:
            fetched = self._fetch(arn, sid, st)
        if not st.buffer:
            if st.exhausted:
                st.done = True
                self._persist()
                return True
            return fetched
        window: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        expired: list[dict[str, Any]] = []
        now = time.time()
        for rec in st.buffer:
            if len(batch) == cap:
                break
            lrec = lambda_record(rec, arn, self.region)
            if matches_filters(self.source.filters, lrec):
                age = now - float(lrec["dynamodb"]["ApproximateCreationDateTime"] or now)
                if 0 <= self.source.maximum_record_age_s < age:
                    if batch:
                        break  # expired records are only ever consumed ahead of a batch
                    expired.append(lrec)
                else:
                    batch.append(lrec)
            window.append(rec)
        if expired:
            self._to_sink(sid, arn, expired, "RecordAgeExceeded", 0, None)
        if batch:
            self._deliver(sid, arn, st, window, batch)
        else:
            del st.buffer[: len(window)]
            self._checkpoint(st, window[-1]["dynamodb"]["SequenceNumber"])
        return True

    def _deliver(
        self, sid: str, arn: str, st: _Shard, window: list[dict[str, Any]], batch: list[dict[str, Any]]
    ) -> None:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        st.attempts += 1
        error: str | None = None
        failed: list[str] = []
        started = time.perf_counter()
        try:
            resp = self.invoke({"Records": batch})
            failed = self._failed_items(resp, seqs)
        except Exception:
            error = traceback.format_exc()
            log.warning("%s failed on a batch of %d records:\n%s", self.source.function_id, len(batch), error)
            failed = list(seqs)
        sites = sorted({_site_of(r) for r in batch})
        log.info(
            "stream %s: %d record%s, site%s %s, %.0f ms%s",
            self.source.function_id,
            len(batch),
            "" if len(batch) == 1 else "s",
            "" if len(sites) == 1 else "s",
            ",".join(sites),
            (time.perf_counter() - started) * 1000,
            f", {len(failed)} failed" if failed else "",
        )
        if not failed:
            st.cap = 0
            del st.buffer[: len(window)]
            self._checkpoint(st, window[-1]["dynamodb"]["SequenceNumber"])
            return
        lowest = min(failed, key=int)
        if error is not None and self.source.bisect_on_error and len(batch) > 1:
            st.cap = math.ceil(len(batch) / 2)  # bisect: retry the first half, no retry used up
            return
        # checkpoint before the lowest failed record; redeliver from it
        idx = next(i for i, r in enumerate(st.buffer) if r["dynamodb"]["SequenceNumber"] == lowest)
        if idx:
            before = st.buffer[idx - 1]["dynamodb"]["SequenceNumber"]
            del st.buffer[:idx]
            st.after = before
            self._persist()
        if st.retry_at != lowest:
            st.retry_at, st.retries = lowest, 0
        else:
            st.retries += 1
        if self.retry_backoff:
            st.not_before = time.monotonic() + min(self.retry_backoff * 2**st.retries, 5.0)
        limit = self.source.maximum_retry_attempts
        if limit >= 0 and st.retries >= limit:
            lost = [r for r in batch if r["dynamodb"]["SequenceNumber"] in set(failed)]
            self._to_sink(sid, arn, lost, "RetryAttemptsExhausted", st.attempts, error)
            st.cap, st.not_before = 0, 0.0
            del st.buffer[: len(window) - idx]
            self._checkpoint(st, window[-1]["dynamodb"]["SequenceNumber"])

    def _failed_items(self, resp: Any, seqs: list[str]) -> list[str]:
        """Sequence numbers the handler reported as failed (all of them if the report is invalid)."""
        if not self.source.report_item_failures or not isinstance(resp, dict):
            return []
        items = resp.get("batchItemFailures") or []
        ids = [i.get("itemIdentifier") if isinstance(i, dict) else None for i in items]
        if any(not isinstance(i, str) or i not in seqs for i in ids):
            log.warning(
                "%s returned invalid batchItemFailures %r: whole batch failed", self.source.function_id, items
            )
            return list(seqs)
        return [str(i) for i in ids]

    def _to_sink(
        self,
        sid: str,
        arn: str,
        records: list[dict[str, Any]],
        condition: str,
        attempts: int,
        error: str | None,
    ) -> None:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        times = [r["dynamodb"]["ApproximateCreationDateTime"] for r in records]
        log.error(
            "%s: %d records sent to the on-failure sink (%s)",
            self.source.function_id,
            len(records),
            condition,
        )
        self.sink(
            {
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": self.function_arn,
                    "condition": condition,
                    "approximateInvokeCount": attempts,
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled" if error else None,
                },
                "DDBStreamBatchInfo": {
                    "shardId": sid,
                    "startSequenceNumber": min(seqs, key=int),
                    "endSequenceNumber": max(seqs, key=int),
                    "approximateArrivalOfFirstRecord": min(times),
                    "approximateArrivalOfLastRecord": max(times),
                    "batchSize": len(records),
                    "streamArn": arn,
                },
                "records": records,
            }
        )

    # -- loops

    def idle(self) -> bool:
        """True when no fetched record is waiting in any shard."""
        with self._lock:
            return all(not st.buffer for st in self._shards.values())

    def drain(self, timeout: float = 30.0) -> None:
        """Process until a full round finds nothing to do (raises TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            active = self.poll_once()
            if not active and self.idle():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream of {self.table_name} not drained after {timeout}s")
            if not active:
                time.sleep(0.02)  # a shard is backing off

    def run_forever(self, stop_event: threading.Event, interval: float = 0.25) -> None:
        """Poll until ``stop_event`` is set: right away while there is work, else every ``interval``."""
        while not stop_event.is_set():
            try:
                busy = self.poll_once()
            except Exception:
                log.exception("stream poller for %s failed; retrying", self.table_name)
                busy = False
            if not busy:
                stop_event.wait(interval)
