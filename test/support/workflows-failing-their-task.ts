/**
 * Workflow code of a broken worker, for tests: `graphWorkflow` fails every workflow task it is given (a
 * plain Error fails the task, not the execution), so the server hands the task on to another worker.
 */
export function graphWorkflow(): Promise<never> {
  return Promise.reject(new Error('this worker fails every workflow task it is handed'));
}
