/**
 * Workflow interceptors of the bundle (workflow-bundle.ts): OpenTelemetry's, for the executions that were
 * started inside a trace. A workflow whose start carried no trace context (tracing off where it was
 * started, or a history recorded before tracing) runs with no interceptor at all: no spans, no sink calls,
 * and exactly the commands it always produced, so older histories replay unchanged.
 *
 * Whether an execution is traced is read from its start headers, which are part of its history: the
 * choice is the same on every replay.
 */
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/** The header in which OpenTelemetry's interceptors carry the trace context between Temporal hops. */
export const traceHeader = '_tracer-data';

export const interceptors = (): WorkflowInterceptors => {
  // Created on the first traced call only: constructing them creates the workflow's tracer.
  let traced = false;
  let inbound: OpenTelemetryInboundInterceptor | undefined;
  let outbound: OpenTelemetryOutboundInterceptor | undefined;
  const otelInbound = () => (inbound ??= new OpenTelemetryInboundInterceptor());
  const otelOutbound = () => (outbound ??= new OpenTelemetryOutboundInterceptor());
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
    internals: [new OpenTelemetryInternalsInterceptor()],
  };
};
