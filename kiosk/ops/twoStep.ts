/**
 * Two-click confirmation for an action that ends something for someone (void a shopper's cart,
 * disable a person, reset their password): the first click arms the button (its label asks to
 * confirm), a second click within `windowMs` runs the action; otherwise it disarms by itself.
 */
import { useEffect, useState } from 'preact/hooks';

export function useTwoStep(windowMs = 5000): { armed: (key: string) => boolean; press: (key: string, run: () => unknown) => void } {
  const [key, setKey] = useState<string | null>(null);
  useEffect(() => {
    if (key === null) return;
    const t = setTimeout(() => setKey(null), windowMs);
    return () => clearTimeout(t);
  }, [key]);
  return {
    armed: (k) => key === k,
    press: (k, run) => {
      if (key !== k) return setKey(k);
      setKey(null);
      void run();
    },
  };
}
