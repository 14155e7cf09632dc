/**
 * Workflow interceptors of the bundle (workflow-bundle.ts): OpenTelemetry's, for the executions that were
 * started inside a trace. A workflow whose start carried no trace context (tracing off where it was
 * started, or a history recorded before tracing) runs with no interceptor at all: no spans, no sink calls,
 * and exactly the commands it always produced, so older histories replay unchanged.
 *
 * Whether an execution is traced is read from its start headers, which are part of its history: the
 * choice is the same on every replay.
 *
 * OpenTelemetry's workflow module is loaded only by a traced execution. The bundle's modules are
 * evaluated again for every workflow the worker creates, and evaluating that one (with the OpenTelemetry
 * SDK under it) took 2.1 of the 9.4 s of workflow-thread CPU in a 500-graph pipeline bench with tracing
 * off: about 2 ms per workflow, spent on every graph and batch for nothing (docs/performance-log.md, "the
 * second cut").
 */
import type * as OpenTelemetryWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/** The header in which OpenTelemetry's interceptors carry the trace context between Temporal hops. */
export const traceHeader = '_tracer-data';

/** The bundler's own `require`: a module loaded through it is evaluated when first called, not at import. */
declare const require: (id: string) => unknown;

let openTelemetry: typeof OpenTelemetryWorkflow | undefined;
const loadOpenTelemetry = () =>
  (openTelemetry ??=
    require('@temporalio/interceptors-opentelemetry/lib/workflow/index.js') as typeof OpenTelemetryWorkflow);

export const interceptors = (): WorkflowInterceptors => {
  // Created on the first traced call only: constructing them creates the workflow's tracer.
  let traced = false;
  let inbound: OpenTelemetryWorkflow.OpenTelemetryInboundInterceptor | undefined;
  let outbound: OpenTelemetryWorkflow.OpenTelemetryOutboundInterceptor | undefined;
  let internals: OpenTelemetryWorkflow.OpenTelemetryInternalsInterceptor | undefined;
  const otelInbound = () => (inbound ??= new (loadOpenTelemetry().OpenTelemetryInboundInterceptor)());
  const otelOutbound = () => (outbound ??= new (loadOpenTelemetry().OpenTelemetryOutboundInterceptor)());
  const otelInternals = () => (internals ??= new (loadOpenTelemetry().OpenTelemetryInternalsInterceptor)());
  return {
    inbound: [
      {
        execute(input, next) {
          traced = traceHeader in input.headers;
          return traced ? otelInbound().execute(input, next) : next(input);
        },
        handleSignal(input, next) {
          return traced && traceHeader in input.headers
            ? otelInbound().handleSignal(input, next)
            : next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) =>
          traced ? otelOutbound().scheduleActivity(input, next) : next(input),
        scheduleLocalActivity: (input, next) =>
          traced ? otelOutbound().scheduleLocalActivity(input, next) : next(input),
        startChildWorkflowExecution: (input, next) =>
          traced ? otelOutbound().startChildWorkflowExecution(input, next) : next(input),
        continueAsNew: (input, next) => (traced ? otelOutbound().continueAsNew(input, next) : next(input)),
        signalWorkflow: (input, next) => (traced ? otelOutbound().signalWorkflow(input, next) : next(input)),
        getLogAttributes: (input, next) =>
          traced ? otelOutbound().getLogAttributes(input, next) : next(input),
      },
    ],
    internals: [
      {
        // Disables the context manager OpenTelemetry set up; an untraced execution never loaded it.
        dispose(input, next) {
          // OpenTelemetry's dispose calls `next` before it returns its promise: nothing is left to await.
          if (openTelemetry) void otelInternals().dispose(input, next);
          else next(input);
        },
      },
    ],
  };
};
