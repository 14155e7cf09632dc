/**
 * Asking for patches by the generation of the code that started an execution (docs/architecture.md §7).
 * An execution started with the current generation was started by code that has every patch of its
 * workflow up to that generation, so it takes those patched paths without asking `patched()`.
 */
import { patched } from '@temporalio/workflow';

/**
 * `hasPatch(patch)` for one execution: true without asking when it was started with `current` or later,
 * unless an older worker ran it during a rollout and recorded the patch's marker, which is then consumed
 * through `patched()`; executions started without a generation ask as they always did.
 */
export function patchesByGeneration(
  startedWith: number | undefined,
  current: number,
): (patch: string) => boolean {
  return (patch) => ((startedWith ?? 0) >= current && !patchMarkerRecorded(patch)) || patched(patch);
}

/**
 * Whether the history holds the marker of `patch`. The SDK learns it from the history before the code that
 * asks runs, but offers no public way to read it; `patched()` would answer the same and record a marker when
 * there is none. Pinned by the replay test of older histories started with a generation.
 */
function patchMarkerRecorded(patch: string): boolean {
  const activator = (globalThis as { __TEMPORAL_ACTIVATOR__?: { knownPresentPatches?: Set<string> } })
    .__TEMPORAL_ACTIVATOR__;
  return activator?.knownPresentPatches?.has(patch) ?? false;
}
