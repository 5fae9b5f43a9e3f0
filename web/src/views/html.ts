// Markup shared by the views.
import DOMPurify from "dompurify";
import { marked } from "marked";
import { esc, shortHex } from "../format";

/** Bidirectional overrides and invisible marks: shown as U+FFFD, as esc() shows them. */
const HIDDEN_CONTROLS = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

/**
 * A proposal's description (Markdown, from the chain: anyone's text) as HTML: rendered with marked, raw HTML in it
 * shown as text, then sanitised with DOMPurify (no script, no handler, no style; links open apart and send no
 * referrer). The controls that reorder text are shown as U+FFFD first.
 */
export function markdown(text: string): string {
  const safe = text.replace(HIDDEN_CONTROLS, "\uFFFD");
  const renderer = new marked.Renderer();
  // HTML written in the description is shown as the text it is, never as markup.
  renderer.html = ({ text: raw }) => esc(raw);
  // Headings inside a card stay below the card's own: bold paragraphs keep the page's outline.
  renderer.heading = function ({ tokens }) {
    return `<p class="md-heading"><strong>${this.parser.parseInline(tokens)}</strong></p>\n`;
  };
  const html = marked.parse(safe, { async: false, gfm: true, breaks: false, renderer });
  const clean = DOMPurify.sanitize(html, {
    ALLOWED_TAGS: [
      "h1",
      "h2",
      "h3",
      "h4",
      "h5",
      "h6",
      "p",
      "ul",
      "ol",
      "li",
      "a",
      "em",
      "strong",
      "code",
      "pre",
      "blockquote",
      "table",
      "thead",
      "tbody",
      "tr",
      "th",
      "td",
      "br",
      "hr",
      "del",
    ],
    ALLOWED_ATTR: ["href", "title"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
  return clean.replace(/<a /g, '<a target="_blank" rel="noopener noreferrer" ');
}

/** An address, linked to the explorer when there is one. */
export function addressLink(address: string, explorerUrl: string, label = address): string {
  return explorerUrl
    ? `<a class="mono" href="${esc(`${explorerUrl}/address/${address}`)}" target="_blank" rel="noopener" title="${esc(address)}">${esc(label)}</a>`
    : `<span class="mono" title="${esc(address)}">${esc(label)}</span>`;
}

/** A block number, linked to the explorer when there is one. */
export function blockLink(block: bigint | number | string, explorerUrl: string): string {
  return explorerUrl
    ? `<a href="${esc(`${explorerUrl}/block/${block}`)}" target="_blank" rel="noopener">${esc(block)}</a>`
    : esc(block);
}

export function txLink(hash: string, explorerUrl: string, label = shortHex(hash)): string {
  return explorerUrl
    ? `<a class="mono tx" href="${esc(`${explorerUrl}/tx/${hash}`)}" target="_blank" rel="noopener" title="${esc(hash)}">${esc(label)}</a>`
    : `<span class="mono tx" title="${esc(hash)}">${esc(label)}</span>`;
}
