import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  appendSlots,
  maxInAnyWindow,
  nextSlot,
  projectLastStart,
  reschedule,
  type ThrottleRule,
} from '../../../src/core/throttle/throttle-schedule.js';

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (next: () => number, min: number, max: number) => min + Math.floor(next() * (max - min + 1));

interface Case {
  seed: number;
  rule: ThrottleRule;
  /** Request times, ascending (the clock only moves forward). */
  requests: number[];
}

function randomCase(seed: number): Case {
  const next = random(seed);
  const rule = { limit: int(next, 1, 6), windowMs: int(next, 1, 50) * 100 };
  const requests: number[] = [];
  let now = 0;
  for (let i = int(next, 1, 120); i > 0; i--) {
    // Bursts (several requests at one instant) as well as quiet stretches longer than a window.
    if (next() < 0.6) now += int(next, 0, rule.windowMs * 2) * (next() < 0.3 ? 3 : 1);
    requests.push(now);
  }
  return { seed, rule, requests };
}

function reserveAll({ rule, requests }: Case): number[] {
  const slots: number[] = [];
  for (const now of requests) slots.push(nextSlot(slots, rule, now));
  return slots;
}

const seeds = Array.from({ length: 400 }, (_, i) => 1000 + i);

describe('throttle schedule', () => {
  test('when requests arrive at random times under random limits, then no rolling window ever holds more than the limit', () => {
    for (const seed of seeds) {
      const c = randomCase(seed);
      const slots = reserveAll(c);
      assert.ok(maxInAnyWindow(slots, c.rule.windowMs) <= c.rule.limit, `seed ${seed}`);
    }
  });

  test('when slots are given, then each is FIFO, never before its request, and as early as the rule allows', () => {
    for (const seed of seeds) {
      const c = randomCase(seed);
      const slots = reserveAll(c);
      slots.forEach((slot, i) => {
        const now = c.requests[i]!;
        assert.ok(slot >= now, `seed ${seed}: slot ${i} before its request`);
        if (i > 0) assert.ok(slot >= slots[i - 1]!, `seed ${seed}: slot ${i} overtakes an earlier one`);
        // Earliest: the slot is pinned by the clock, by the previous slot, or by the window of L back.
        const pinned =
          slot === now ||
          slot === slots[i - 1] ||
          (i >= c.rule.limit && slot === slots[i - c.rule.limit]! + c.rule.windowMs);
        assert.ok(pinned, `seed ${seed}: slot ${i} could be earlier`);
        // And one millisecond earlier would overfill a window.
        if (slot > now && slot !== slots[i - 1]) {
          const earlier = [...slots.slice(0, i), slot - 1];
          assert.ok(maxInAnyWindow(earlier, c.rule.windowMs) > c.rule.limit, `seed ${seed}: slot ${i}`);
        }
      });
    }
  });

  test('when the same reservations are computed again or in two steps, then the slots are the same', () => {
    for (const seed of seeds.slice(0, 100)) {
      const c = randomCase(seed);
      const now = c.requests.at(-1)!;
      const existing = reserveAll(c);
      const whole = appendSlots(existing, 25, c.rule, now);
      assert.deepEqual(appendSlots(existing, 25, c.rule, now), whole, `seed ${seed}: pure`);
      const first = appendSlots(existing, 10, c.rule, now);
      const second = appendSlots([...existing, ...first], 15, c.rule, now);
      assert.deepEqual([...first, ...second], whole, `seed ${seed}: composable`);
    }
  });

  test('when waiting reservations are given back at random, then new ones still queue behind the waiting ones and the limit holds', () => {
    for (const seed of seeds) {
      const c = randomCase(seed);
      const next = random(seed * 13);
      const slots: number[] = [];
      for (const now of c.requests) {
        // A cancelled graph gives its waiting slot back, leaving a gap.
        const waiting = slots.map((slot, i) => [slot, i] as const).filter(([slot]) => slot > now);
        if (waiting.length > 0 && next() < 0.3)
          slots.splice(waiting[int(next, 0, waiting.length - 1)]![1], 1);
        const slot = nextSlot(slots, c.rule, now);
        assert.ok(slot >= (slots.at(-1) ?? -Infinity), `seed ${seed}: overtook a waiting graph`);
        slots.push(slot);
      }
      assert.ok(maxInAnyWindow(slots, c.rule.windowMs) <= c.rule.limit, `seed ${seed}`);
    }
    // The case the FIFO term exists for: two of three waiting graphs were cancelled.
    assert.equal(nextSlot([0, 0, 20], { limit: 2, windowMs: 10 }, 1), 20);
  });

  test('when 8 graphs ask at once with 3 per 4 s, then they start in three waves 4 s apart', () => {
    const rule = { limit: 3, windowMs: 4000 };
    assert.deepEqual(appendSlots([], 8, rule, 1000), [1000, 1000, 1000, 5000, 5000, 5000, 9000, 9000]);
    assert.equal(projectLastStart([], 8, rule, 1000), 9000);
  });

  test('when the last start of a batch is projected, then the closed form equals appending one by one', () => {
    for (const seed of seeds) {
      const c = randomCase(seed);
      const next = random(seed * 7);
      const existing = reserveAll(c);
      const now = c.requests.at(-1)! + int(next, 0, c.rule.windowMs);
      const count = int(next, 1, 40);
      assert.equal(
        projectLastStart(existing, count, c.rule, now),
        appendSlots(existing, count, c.rule, now).at(-1),
        `seed ${seed}, count ${count}`,
      );
    }
  });

  test('when the limit is raised, then waiting slots move earlier, keep their order, never before now, and the new limit holds', () => {
    for (const seed of seeds.slice(0, 200)) {
      const c = randomCase(seed);
      const slots = reserveAll(c);
      const now = c.requests.at(-1)!;
      const past = slots.filter((slot) => slot <= now);
      const waiting = slots.filter((slot) => slot > now);
      const raised = { ...c.rule, limit: c.rule.limit + 1 + (seed % 3) };
      const moved = reschedule(past, waiting.length, raised, now);
      moved.forEach((slot, i) => {
        assert.ok(slot <= waiting[i]!, `seed ${seed}: ${i} moved later on a raise`);
        assert.ok(slot >= now, `seed ${seed}: ${i} moved into the past`);
        if (i > 0) assert.ok(slot >= moved[i - 1]!, `seed ${seed}: order`);
      });
      assert.ok(maxInAnyWindow([...past, ...moved], raised.windowMs) <= raised.limit, `seed ${seed}`);
    }
  });

  test('when the limit is lowered, then waiting slots move later and the lower limit holds over started and waiting work', () => {
    for (const seed of seeds.slice(0, 200)) {
      const c = randomCase(seed);
      if (c.rule.limit === 1) continue;
      const slots = reserveAll(c);
      const now = c.requests.at(-1)!;
      const past = slots.filter((slot) => slot <= now);
      const waiting = slots.filter((slot) => slot > now);
      const lowered = { ...c.rule, limit: 1 + (seed % (c.rule.limit - 1)) };
      const moved = reschedule(past, waiting.length, lowered, now);
      moved.forEach((slot, i) => assert.ok(slot >= waiting[i]!, `seed ${seed}: ${i} moved earlier`));
      // Started work stays where it is; from now on the lower limit holds in every window.
      const future = [...past, ...moved].filter((slot) => slot > now - lowered.windowMs);
      const startingFromNow = moved.length ? maxInAnyWindow(moved, lowered.windowMs) : 0;
      assert.ok(startingFromNow <= lowered.limit, `seed ${seed}`);
      for (const slot of moved) {
        const inWindow = future.filter((s) => s > slot - lowered.windowMs && s <= slot).length;
        assert.ok(inWindow <= lowered.limit, `seed ${seed}: window ending at ${slot}`);
      }
    }
  });

  test('when the limit drops from 3 to 1 with two graphs started and four waiting, then the waiting ones go one per window after the last start', () => {
    const rule = { limit: 1, windowMs: 4000 };
    assert.deepEqual(reschedule([1000, 1000], 4, rule, 2000), [5000, 9000, 13000, 17000]);
  });

  test('when windows are counted, then a window is half-open: slots exactly W apart are in different windows', () => {
    assert.equal(maxInAnyWindow([0, 4000, 8000], 4000), 1);
    assert.equal(maxInAnyWindow([0, 3999, 4000], 4000), 2);
    assert.equal(maxInAnyWindow([5, 1, 3], 10), 3);
    assert.equal(maxInAnyWindow([], 10), 0);
  });
});
