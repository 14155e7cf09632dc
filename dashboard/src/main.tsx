/** The dashboard's entry: TanStack Query (a 401 from any call signs out), the session, the pages. */
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { isUnauthorized, sessionStore } from './api';
import { navigate } from './router';
import './styles.css';

function onError(error: unknown) {
  if (isUnauthorized(error)) {
    sessionStore.set(null);
    navigate('/sign-in', { replace: true });
  }
}

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      // A 4xx will not change by asking again; network errors and 5xx get one more try.
      retry: (failures, error) =>
        failures < 1 && !(error instanceof Error && 'status' in error && Number(error.status) < 500),
      refetchOnWindowFocus: false,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
