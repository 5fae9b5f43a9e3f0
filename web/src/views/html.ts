// Markup shared by the views.
import { esc, shortHex } from "../format";

export function txLink(hash: string, explorerUrl: string, label = shortHex(hash)): string {
  return explorerUrl
    ? `<a class="mono tx" href="${esc(`${explorerUrl}/tx/${hash}`)}" target="_blank" rel="noopener" title="${esc(hash)}">${esc(label)}</a>`
    : `<span class="mono tx" title="${esc(hash)}">${esc(label)}</span>`;
}
