// One modal dialog for every confirmation and form (vote, delegate, queue, execute, pause, rollback). It lives
// outside the views, so the page refreshing underneath never clears what the user is typing. The confirm button
// comes first in the form (shown last, by CSS), so Enter in a field confirms instead of cancelling.
import { esc } from "./format";

export interface DialogOptions {
  title: string;
  /** Trusted HTML: built by the views with esc(). */
  body: string;
  confirmLabel: string;
  danger?: boolean;
  /** The confirm button stays disabled until this exact text is typed. */
  typeToConfirm?: string;
  /**
   * Other ways to confirm, beside the confirm button (a Safe batch download instead of sending): the form's fields
   * come back with `choice` set to the value of the button pressed ("confirm" for the confirm button). They skip the
   * form's own validation: the caller checks what it needs.
   */
  alternatives?: { value: string; label: string }[];
}

/** Opens the dialog; resolves with the form's fields on confirm, undefined on cancel or Escape. */
export function openDialog(o: DialogOptions): Promise<FormData | undefined> {
  const dialog = document.getElementById("dialog") as HTMLDialogElement;
  const typed = o.typeToConfirm
    ? `<label class="confirm-type">Type <b class="mono">${esc(o.typeToConfirm)}</b> to confirm
         <input name="confirm-text" data-testid="dialog-confirm-text" autocomplete="off" required></label>`
    : "";
  // Labelled by its title and described by its body; focus returns to what opened it.
  const opener = document.activeElement as HTMLElement | null;
  dialog.setAttribute("aria-labelledby", "dialog-title");
  dialog.setAttribute("aria-describedby", "dialog-body");
  dialog.innerHTML = `<form method="dialog" data-testid="dialog">
      <h2 id="dialog-title">${esc(o.title)}</h2>
      <div class="dialog-body" id="dialog-body">${o.body}</div>
      ${typed}
      <menu>
        <button value="confirm" class="${o.danger ? "danger" : "primary"}" data-testid="dialog-confirm">${esc(o.confirmLabel)}</button>
        ${(o.alternatives ?? []).map((a) => `<button value="${esc(a.value)}" formnovalidate data-testid="dialog-${esc(a.value)}">${esc(a.label)}</button>`).join("")}
        <button value="cancel" formnovalidate data-testid="dialog-cancel">Cancel</button>
      </menu>
    </form>`;
  const form = dialog.querySelector("form")!;
  const confirm = dialog.querySelector<HTMLButtonElement>('[data-testid="dialog-confirm"]')!;
  if (o.typeToConfirm) {
    const input = dialog.querySelector<HTMLInputElement>('[name="confirm-text"]')!;
    const check = () => (confirm.disabled = input.value !== o.typeToConfirm);
    input.addEventListener("input", check);
    check();
  }
  return new Promise((resolve) => {
    let fields: FormData | undefined;
    form.addEventListener("submit", (e) => {
      const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
      const choice = submitter?.value ?? "";
      const chosen = choice === "confirm" || (o.alternatives ?? []).some((a) => a.value === choice);
      fields = chosen ? new FormData(form) : undefined;
      fields?.set("choice", choice);
    });
    dialog.addEventListener(
      "close",
      () => {
        if (opener?.isConnected) opener.focus();
        resolve(fields);
      },
      { once: true },
    );
    dialog.showModal();
    // The first field to fill, else the first choice; the confirm button only when there is nothing to fill.
    dialog.querySelector<HTMLElement>("textarea, input:not([type=radio]), input[type=radio]:checked, input")?.focus();
  });
}
