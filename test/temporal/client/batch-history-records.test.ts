/**
 * Reconcile's reading of a batch whose graphs run as activities (workflow-records.ts, graphActivityRecords),
 * on a history the real server recorded (scripts/record-histories.ts): a good graph and a truncated file.
 * Cut short, the same history stands for the batch while it still ran.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { graphActivityRecords } from '../../../src/temporal/client/workflow-records.js';

const recorded = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../workflows/histories/v10-batch-graphs-as-activities-batch_acme_activities-partial.json',
);
const events = historyFromJSON(JSON.parse(readFileSync(recorded, 'utf8')) as unknown).events ?? [];
const read = (upTo: number) =>
  graphActivityRecords(defaultPayloadConverter, 'acme', 'activities-partial', events.slice(0, upTo));
const indexOf = (found: (event: (typeof events)[number]) => unknown) => events.findIndex((e) => found(e));

test('when the batch has completed, then each graph is read from its result with its outcome and times', () => {
  const records = read(events.length);
  assert.deepEqual(
    [...records.values()].map((record) => [record.workflowId, record.state, record.error?.code]),
    [
      ['graph/acme/activities-partial/0', 'succeeded', undefined],
      ['graph/acme/activities-partial/1', 'failed', 'corrupt_input'],
    ],
  );
  assert.equal(records.get(0)!.sinks.length, 2);
  for (const record of records.values()) assert.ok(record.startedAt! <= record.finishedAt!);
});

test('when the batch still runs, then a scheduled graph is running since its activity was scheduled and a failed one has its code', () => {
  const failed = indexOf((event) => event.activityTaskFailedEventAttributes);
  const records = read(failed + 1);
  const [first, second] = [records.get(0)!, records.get(1)!];
  assert.equal(first.state, 'running');
  assert.equal(first.finishedAt, undefined);
  const scheduled = events.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityId === 'graph-0',
  )!;
  assert.equal(
    first.startedAt?.getTime(),
    Number(scheduled.eventTime!.seconds) * 1000 + Math.round((scheduled.eventTime!.nanos ?? 0) / 1e6),
  );
  assert.equal(second.state, 'failed');
  assert.equal(second.error?.code, 'corrupt_input');
  assert.deepEqual([second.sinks, second.failures], [[], []]);
});

test('when no graph activity was scheduled yet, then no graph has a record (its row stays as it is)', () => {
  const firstGraph = indexOf((event) => event.activityTaskScheduledEventAttributes?.activityId === 'graph-0');
  assert.equal(read(firstGraph).size, 0);
});
