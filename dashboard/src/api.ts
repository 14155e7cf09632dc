/** The one SDK client of the app (session mode, same origin) and the sign-in state around it. */
import { createClient, PixelshiftApiError, type DashboardSession } from '@pixelshift/client';

export const client = createClient({ baseUrl: '', session: {} });

type Listener = () => void;
let current: DashboardSession | null | undefined;
const listeners = new Set<Listener>();

/** The signed-in session; `undefined` while unknown, `null` when signed out. */
export const sessionStore = {
  get: () => current,
  set: (session: DashboardSession | null) => {
    current = session;
    listeners.forEach((listener) => listener());
  },
  subscribe: (listener: Listener) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};

/** True for the API's "not signed in" answer: the app goes to sign-in. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof PixelshiftApiError && error.status === 401;
}

/** Forgets the session and goes to sign-in (a 401 from any call). */
export function signedOut(): void {
  sessionStore.set(null);
}
