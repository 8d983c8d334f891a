import Stripe from "stripe";

export interface StripeSettings {
  secretKey: string;
  /** `https://api.stripe.com` by default; a loopback fake in tests. */
  apiUrl?: string;
  maxNetworkRetries?: number;
}

/** The real Stripe client, its host, port and protocol taken from `apiUrl`, over fetch. */
export function stripeClient(s: StripeSettings): Stripe {
  const url = new URL(s.apiUrl ?? "https://api.stripe.com");
  const protocol = url.protocol === "http:" ? "http" : "https";
  return new Stripe(s.secretKey, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443,
    protocol,
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: s.maxNetworkRetries ?? 2,
    timeout: 20_000,
    telemetry: false,
  });
}

/** Verifies a webhook's `Stripe-Signature` over the raw body (constant time, in the library). */
export const webCrypto = Stripe.createSubtleCryptoProvider();
export type { Stripe };
