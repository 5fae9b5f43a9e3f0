// lib/history.ts turns version tags into text with Node's Buffer (Buffer.from(hex, "hex").toString("utf8")).
// The browser has no Buffer; this gives it exactly that one call and nothing more, so no library mistakes it
// for the real thing. Imported first by main.ts.
if (!("Buffer" in globalThis)) {
  const from = (hex: string, encoding: string) => {
    if (encoding !== "hex") throw new Error(`the dashboard's Buffer shim only decodes hex, not ${encoding}`);
    const bytes = new Uint8Array(hex.length >> 1);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return { toString: () => new TextDecoder().decode(bytes) };
  };
  (globalThis as unknown as { Buffer: unknown }).Buffer = { from };
}
export {};
