/**
 * The one ingest path for bucket events (docs/architecture.md §10): HTTP ingress, SNS, SQS and the local watcher all
 * hand their ObjectCreated events to `createEventIngest(...).ingest(events)`.
 *
 * For each event: the enabled rules of its connection and bucket whose account is granted that bucket
 * (so another account's bucket never triggers anyone's rule) and whose prefix and suffix match; then one
 * graph run per rule that matches the object's size and content type too, with a workflow ID built from
 * the upload's identity (`s3RunWorkflowId`), so a redelivered event starts nothing twice.
 *
 * Most events need nothing but themselves: when the event carries what the matching rules filter on (the
 * size is in every record; the content type only in some), its runs start at once, all such records of a
 * call listed in the read model by one insert, then started 16 at a time. Pixelshift's own outputs never
 * trigger rules: an event that reports the object's user metadata (MinIO's do) is checked here, and every
 * run checks the source it reads (`skipGeneratedSource`), so no HEAD is needed to tell. An event whose
 * rules filter on a content type it lacks, or that names a version, costs one HEAD of the object, which
 * supplies size and content type, skips outputs and objects already gone, and finds out whether the
 * bucket keeps versions; each such record goes from its HEAD straight to its starts, so one record's HEAD
 * overlaps another's start. Their rows wait for each other briefly (up to 16 rows, or until no HEAD of the
 * call is left, or `HEADED_ROWS_WAIT_MS`), so a body's records share a few inserts, not one each. Calls
 * made together (one record each, as SNS and SQS deliver them) share rule reads and inserts too, without
 * waiting for one another.
 *
 * An event that names a version (a versioned bucket) is looked at, and run, at exactly that version, so
 * an overwrite between the event and the run cannot change what is processed. A bucket that keeps no
 * versions refuses a version id as a bad request (S3 answers 400, the local store refuses it): then the
 * object is looked at as it is and the version is left out of the run.
 *
 * Each run carries the revision its event named (the local watcher's file revision, or the ETag), and a
 * run that finds its source replaced by then ends as `superseded` rather than processing another version
 * or failing on a file still being written: the newer version's own event starts the run that counts.
 *
 * `ingest` resolves only after Temporal acknowledged every start; when any start (or a HEAD, or the
 * database) fails it rejects, and the caller must not acknowledge the events (HTTP 5xx, SQS message left
 * in the queue). Starts that did succeed are found again by their IDs on redelivery.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { checkStorageAccess } from '../../core/auth/storage-access.js';
import type { StorageConnections } from '../../core/storage/connections.js';
import { insertTriggeredRuns } from '../../db/graph-runs.js';
import type { Db } from '../../db/database.js';
import { enabledRulesForBucket } from '../../db/rules.js';
import type { RuleRow } from '../../db/schema.js';
import { ClassifiedError } from '../../core/errors.js';
import type { StartGraphRunInput, TriggeredRuns } from '../../core/jobs/orchestrator-ports.js';
import { isGeneratedObject } from '../../core/storage/generated-metadata.js';
import {
  effectiveGrants,
  grantsForAccount,
  isBucketGranted,
  type StorageGrants,
} from '../../core/storage/grants.js';
import type { ObjectInfo, ObjectStore } from '../../core/storage/types.js';
import { s3RunWorkflowId } from '../../core/jobs/workflow-ids.js';
import { expandGraphTemplate } from '../../core/triggers/graph-template.js';
import {
  factsDecide,
  matchesObjectFacts,
  matchesObjectName,
  type ObjectFacts,
} from '../../core/triggers/rule-match.js';
import type { EventIngest, IngestResult, ObjectCreatedEvent } from '../../core/triggers/trigger-types.js';

/** HEADs and starts in flight at once for one ingest call. */
export const INGEST_CONCURRENCY = 16;

/**
 * How long a headed record's row waits for the rows of other records whose HEADs are still out, so that
 * they share one insert (an insert of one row costs PGlite about four times a row of a larger one). The
 * wait ends sooner once `INGEST_CONCURRENCY` rows are gathered or no HEAD of the call is left; it is what
 * a slow HEAD can hold up the other records' starts by.
 */
export const HEADED_ROWS_WAIT_MS = 10;

export interface EventIngestDeps {
  db: Db;
  orchestrator: Pick<TriggeredRuns, 'startGraphRun'>;
  stores: { get(connection: string): ObjectStore };
  /** Storage policy from config: which accounts may use which buckets, and which connections exist. */
  storage: { grants: StorageGrants; connections: StorageConnections };
  logger?: Logger | undefined;
  /** Called with every result (metrics, logs). */
  onResult?: ((result: IngestResult) => void) | undefined;
  concurrency?: number;
  /** `HEADED_ROWS_WAIT_MS` unless given (tests). */
  headedRowsWaitMs?: number;
}

/** Whether any account (its own grants or `*`) may use this bucket; ingress refuses buckets no one has. */
export function isBucketGrantedToAnyone(grants: StorageGrants, connection: string, bucket: string): boolean {
  return Object.keys(grants).some((accountId) =>
    isBucketGranted(grantsForAccount(grants, accountId), connection, bucket),
  );
}

export function createEventIngest(deps: EventIngestDeps): EventIngest {
  const concurrency = deps.concurrency ?? INGEST_CONCURRENCY;
  const grantedTo = (accountId: string, connection: string, bucket: string) =>
    isBucketGranted(effectiveGrants(deps.storage.grants, accountId), connection, bucket);
  // Calls arriving together (SNS and SQS deliver one record each, many at once) share database work
  // without waiting for each other: a call whose bucket's rules are being read joins that read, and rows
  // listed while `INSERTS_IN_FLIGHT` inserts are out go together in the next one. Nothing is cached
  // beyond a read.
  const rulesBeingRead = new Map<string, Promise<RuleRow[]>>();
  const readRules = (connection: string, bucket: string) => {
    const id = `${connection}\u0000${bucket}`;
    let reading = rulesBeingRead.get(id);
    if (!reading) {
      reading = enabledRulesForBucket(deps.db, connection, bucket);
      rulesBeingRead.set(id, reading);
      const forget = () => rulesBeingRead.delete(id);
      reading.then(forget, forget);
    }
    return reading;
  };
  const insertRuns = coalescedWrites(
    (runs: StartGraphRunInput[]) => insertTriggeredRuns(deps.db, runs),
    INSERTS_IN_FLIGHT,
  );

  return {
    async ingest(events) {
      const result: IngestResult = {
        events: events.length,
        started: 0,
        duplicates: 0,
        unmatched: 0,
        skipped: 0,
        invalid: 0,
        workflowIds: [],
      };
      // One rule lookup per bucket per call, however many records name it: every record asks in the
      // same turn (below), so they all join the one read.
      const rulesFor = (event: ObjectCreatedEvent) => readRules(event.connection, event.bucket);

      // Workflow IDs this call has claimed: the same upload twice in one body (or two records for one key)
      // must not start twice either.
      const claimed = new Set<string>();

      /** The rules that match the event by name, and what identifies its upload; undefined when none can start. */
      const candidatesOf = async (event: ObjectCreatedEvent) => {
        const candidates = (await rulesFor(event)).filter(
          (rule) =>
            grantedTo(rule.accountId, event.connection, event.bucket) && matchesObjectName(rule, event),
        );
        if (candidates.length === 0) {
          result.unmatched += 1;
          return undefined;
        }
        const upload = event.sequencer ?? event.etag ?? event.eventTime;
        if (upload === undefined) {
          result.invalid += 1;
          deps.logger?.warn({ event }, 'bucket event without sequencer, ETag or time: skipped');
          return undefined;
        }
        return { event, candidates, upload };
      };

      /** One run per rule that matches the object's facts too, each claimed once in this call. */
      const startsFor = (
        { event, candidates, upload }: Matched,
        { generated, facts, versionId }: KnownObject,
      ): StartGraphRunInput[] => {
        if (generated) {
          result.unmatched += 1;
          return [];
        }
        const matching = candidates.filter((rule) => matchesObjectFacts(rule, facts));
        if (matching.length === 0) {
          result.unmatched += 1;
          return [];
        }
        // What the run must find to process this upload: on S3 the ETag is the object's revision.
        const sourceRevision = event.revision ?? event.etag;
        const starts: StartGraphRunInput[] = [];
        for (const rule of matching) {
          const graph = expandGraphTemplate(rule.template, {
            connection: event.connection,
            bucket: event.bucket,
            key: event.key,
            ...(versionId ? { versionId } : {}),
          });
          // Grants are config and may have shrunk since the rule was saved: never write where it may not.
          const access = checkStorageAccess([{ graph, base: [] }], deps.storage, rule.accountId);
          if (access.denied.length > 0 || access.unknownConnections.length > 0) {
            deps.logger?.warn(
              {
                ruleId: rule.id,
                accountId: rule.accountId,
                issues: [...access.denied, ...access.unknownConnections],
              },
              'rule writes where its account is no longer granted: skipped',
            );
            result.skipped += 1;
            continue;
          }
          const workflowId = s3RunWorkflowId(
            { connection: event.connection, bucket: event.bucket, key: event.key, upload, ruleId: rule.id },
            sha256Hex,
          );
          if (claimed.has(workflowId)) {
            result.duplicates += 1;
            continue;
          }
          claimed.add(workflowId);
          starts.push({
            accountId: rule.accountId,
            workflowId,
            trigger: 's3',
            triggerId: rule.id,
            graph,
            ...(sourceRevision === undefined ? {} : { sourceRevision }),
            // Outputs never trigger rules: the run checks the object it reads, whatever the ingest knew.
            skipGeneratedSource: true,
          });
        }
        return starts;
      };

      const start = async (run: StartGraphRunInput) => {
        const { workflowId, started } = await deps.orchestrator.startGraphRun(run);
        if (started) result.started += 1;
        else result.duplicates += 1;
        result.workflowIds.push(workflowId);
      };

      // A run's read-model row is inserted before its start, so that it is listed from the moment it
      // starts; existing rows are kept, so a redelivered event finds its run listed already. Rows share
      // inserts (the known records' one, the HEADed ones' as below, and other calls' as above): alone, a
      // row costs PGlite about four times as much.
      const matched = (await Promise.all(events.map(candidatesOf))).filter((found) => found !== undefined);
      // Records that tell what their rules need are known at once; the others need a HEAD.
      const knownAtOnce: StartGraphRunInput[] = [];
      const toHead: Matched[] = [];
      for (const found of matched) {
        const known = knownFromEvent(found);
        if (known === undefined) toHead.push(found);
        else knownAtOnce.push(...startsFor(found, known));
      }
      // All the known records' rows go in one insert, then their starts.
      const startKnown = async () => {
        if (knownAtOnce.length === 0) return;
        await insertRuns(knownAtOnce);
        await eachBounded(knownAtOnce, concurrency, start);
      };
      // The others: each goes from its HEAD straight to its row and its starts, so HEADs on storage and
      // starts on Temporal overlap. Rows gather while other HEADs are out, for a bounded time, so a slow
      // HEAD holds up no other record for long.
      let headsLeft = toHead.length;
      const insertHeadedRuns = groupedWrites(insertRuns, {
        gatherWhile: () => headsLeft > 0,
        maxItems: concurrency,
        maxWaitMs: deps.headedRowsWaitMs ?? HEADED_ROWS_WAIT_MS,
      });
      const startHeaded = () =>
        eachBounded(toHead, concurrency, async (found) => {
          let known: KnownObject | undefined;
          try {
            known = await headedObject(deps, found.event);
          } finally {
            // A group woken here is written only after this turn, so this record's rows still join it.
            headsLeft -= 1;
            insertHeadedRuns.reconsider();
          }
          if (known === undefined) {
            result.skipped += 1;
            return;
          }
          const starts = startsFor(found, known);
          if (starts.length === 0) return;
          await insertHeadedRuns(starts);
          for (const run of starts) await start(run);
        });
      // Both finish whatever they began before the first failure is rethrown (the sender retries).
      const failed = (await Promise.allSettled([startKnown(), startHeaded()])).find(
        (outcome) => outcome.status === 'rejected',
      );
      if (failed) throw failed.reason;
      deps.onResult?.(result);
      return result;
    },
  };
}

/** An event whose rules matched its key by name, and the upload it names. */
interface Matched {
  event: ObjectCreatedEvent;
  candidates: RuleRow[];
  upload: string;
}

/** What the rules need to know of the object: whether pixelshift wrote it, its facts, the version to read. */
interface KnownObject {
  /** Undefined when the event did not say (AWS records carry no user metadata): the run checks. */
  generated: boolean | undefined;
  facts: ObjectFacts;
  versionId: string | undefined;
}

/**
 * What the event itself tells of its object, when that decides every rule it matched by name and it names
 * no version. Whether the object is one of pixelshift's outputs is known when the event reports its user
 * metadata (MinIO's do), and otherwise found out by the run, which reads the object anyway; so is an
 * object gone by then (the run ends `superseded`). A version is left to the HEAD, which finds out whether
 * the bucket keeps versions at all.
 */
function knownFromEvent({ event, candidates }: Matched): KnownObject | undefined {
  if (event.versionId !== undefined) return undefined;
  const facts = { size: event.size, contentType: event.contentType };
  if (!candidates.every((rule) => factsDecide(rule, facts))) return undefined;
  return { generated: event.generated, facts, versionId: undefined };
}

/** The same, from one HEAD of the object; undefined when it is gone or may not be read (nothing to run on). */
async function headedObject(
  deps: EventIngestDeps,
  event: ObjectCreatedEvent,
): Promise<KnownObject | undefined> {
  const found = await headObject(deps, event);
  if (found === undefined) return undefined;
  return {
    generated: isGeneratedObject(found.info),
    facts: { size: event.size ?? found.info.size, contentType: event.contentType ?? found.info.contentType },
    versionId: found.versionId,
  };
}

/**
 * The object at the event's version (or as it is now, when the bucket keeps no versions), with the
 * version the run is to read; undefined when it is gone or may not be read (nothing to run on).
 */
async function headObject(
  deps: EventIngestDeps,
  event: ObjectCreatedEvent,
): Promise<{ info: ObjectInfo; versionId: string | undefined } | undefined> {
  const store = deps.stores.get(event.connection);
  try {
    if (event.versionId === undefined) {
      return { info: await store.head(event.bucket, event.key), versionId: undefined };
    }
    try {
      const info = await store.head(event.bucket, event.key, { versionId: event.versionId });
      return { info, versionId: event.versionId };
    } catch (error) {
      if (!(error instanceof ClassifiedError && error.code === 'invalid_graph')) throw error;
      // The bucket keeps no versions: the event's version id means nothing to it.
      const info = await store.head(event.bucket, event.key);
      deps.logger?.info(
        { connection: event.connection, bucket: event.bucket, key: event.key, versionId: event.versionId },
        'bucket keeps no versions: the event version is ignored',
      );
      return { info, versionId: undefined };
    }
  } catch (error) {
    if (
      error instanceof ClassifiedError &&
      (error.code === 'source_not_found' || error.code === 'access_denied')
    ) {
      deps.logger?.info(
        { connection: event.connection, bucket: event.bucket, key: event.key, code: error.code },
        'object of a bucket event cannot be read: skipped',
      );
      return undefined;
    }
    // Transient (or unknown) failures: the sender must retry.
    throw error;
  }
}

/**
 * Inserts of read-model rows in flight at once across calls; rows listed meanwhile wait and share the
 * next one. Two let a call's insert overlap another's (one at a time made bodies of 100 records wait
 * for each other's inserts on PostgreSQL) while a burst of one-record calls still shares statements.
 */
const INSERTS_IN_FLIGHT = 2;

/**
 * Group commit without a wait: a write starts at once unless `maxInFlight` are out; items given
 * meanwhile go together in the next write, which starts as soon as one ends. Each call resolves (or
 * rejects) with the write that carried its items.
 */
function coalescedWrites<T>(
  write: (items: T[]) => Promise<unknown>,
  maxInFlight: number,
): (items: readonly T[]) => Promise<void> {
  let inFlight = 0;
  let next: { items: T[]; written: Promise<void>; settle: (outcome: Promise<unknown>) => void } | undefined;
  const flush = () => {
    if (!next || inFlight >= maxInFlight) return;
    const group = next;
    next = undefined;
    inFlight += 1;
    const outcome = write(group.items);
    group.settle(outcome);
    const done = () => {
      inFlight -= 1;
      flush();
    };
    outcome.then(done, done);
  };
  return (items) => {
    if (!next) {
      let settle!: (outcome: Promise<unknown>) => void;
      const written = new Promise<unknown>((resolve) => (settle = resolve)).then(() => undefined);
      next = { items: [], written, settle };
    }
    const group = next;
    group.items.push(...items);
    flush();
    return group.written;
  };
}

/** How long a group may wait for more items before it is written. */
interface GatherPolicy {
  /** Whether more items may still come. */
  gatherWhile: () => boolean;
  /** Written once this many are gathered. */
  maxItems: number;
  /** Written at the latest this long after its first item. */
  maxWaitMs: number;
}

/**
 * Group commit: calls made while a write is in flight wait for it, then go together in the next write,
 * and a group also waits for more items as the policy allows. Each call resolves (or rejects) with the
 * write that carried its items. `reconsider()` tells a waiting group that what the policy reads changed.
 */
function groupedWrites<T>(
  write: (items: T[]) => Promise<unknown>,
  policy: GatherPolicy,
): ((items: readonly T[]) => Promise<void>) & { reconsider(): void } {
  let previous: Promise<unknown> = Promise.resolve();
  let gathering: { items: T[]; written: Promise<void>; wake?: () => void } | undefined;
  const full = (group: { items: T[] }) => group.items.length >= policy.maxItems || !policy.gatherWhile();
  const reconsider = () => {
    if (gathering && full(gathering)) gathering.wake?.();
  };
  const add = (items: readonly T[]) => {
    if (!gathering) {
      const group: { items: T[]; written: Promise<void>; wake?: () => void } = {
        items: [],
        written: Promise.resolve(),
      };
      const waited = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, policy.maxWaitMs);
        group.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      group.written = Promise.all([previous, waited]).then(async () => {
        // From here on, new items gather for the write after this one.
        if (gathering === group) gathering = undefined;
        await write(group.items);
      });
      previous = group.written.catch(() => undefined);
      gathering = group;
    }
    gathering.items.push(...items);
    reconsider();
    return gathering.written;
  };
  return Object.assign(add, { reconsider });
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Runs `work` over the items with at most `limit` in flight. Every item already started finishes; the
 * first failure is then rethrown (and no further items are taken).
 */
async function eachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}
