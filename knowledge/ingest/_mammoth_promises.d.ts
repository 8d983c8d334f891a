declare const promises: { toExternalPromise: (p: Promise<unknown>) => Promise<unknown> };
export default promises;
