// The dev inbox: polls the local stack and lets the developer answer as the human would.
// No framework and no build step; the server's /_inbox/api/state feed is the only data source.
"use strict";

(() => {
  const POLL_MS = 300;
  const TOKEN_KEY = "session-client-inbox-token";
  const byId = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let version = "";
  let live = null;
  const cards = new Map(); // session_id -> {signature, element}
  const drafts = new Map(); // message_id (+ a field's JSON Pointer) -> what the developer typed
  const errors = new Map(); // message_id (+ a field's JSON Pointer) -> its inline error
  const sending = new Set(); // message ids with an answer in flight

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name === "className" ? "class" : name, value === true ? "" : value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  const pretty = (value) => JSON.stringify(value, null, 2);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "-");

  function expiry(seconds) {
    if (seconds === null) return "never";
    const text = new Date(seconds * 1000).toLocaleString();
    return seconds * 1000 <= Date.now() ? `${text} (overdue)` : text;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init);
  }

  async function readProblem(response) {
    try {
      return await response.json();
    } catch {
      return { title: `HTTP ${response.status}` };
    }
  }

  function problemLines(problem, errors) {
    const lines = [problem.detail || problem.title || "The answer was refused."];
    for (const error of errors) lines.push(`${error.path}: ${error.message}`);
    return lines.join("\n");
  }

  async function problemText(response) {
    const problem = await readProblem(response);
    return problemLines(problem, problem.errors || []);
  }

  function setLive(ok) {
    if (live === ok) return; // a status region that changes on every poll would drown readers
    live = ok;
    const status = byId("live");
    status.textContent = ok ? "Live" : "Disconnected, retrying\u2026";
    status.className = ok ? "ok" : "down";
  }

  function notice(text) {
    byId("notice").textContent = text;
  }

  // -- the token ----------------------------------------------------------------------------

  function lock() {
    const form = byId("token-form");
    byId("token-error").textContent = token ? "That token was refused." : "";
    byId("live").textContent = "Locked: this stack needs its API token.";
    byId("live").className = "";
    live = null;
    if (form.hidden) {
      form.hidden = false;
      byId("token").focus();
    }
  }

  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = byId("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    byId("token-form").hidden = true;
    version = "";
    poll();
  });

  // -- polling ------------------------------------------------------------------------------

  async function poll() {
    try {
      const response = await api("GET", `/_inbox/api/state?since=${enc(version)}`);
      if (response.status === 401) {
        lock();
        return; // until the developer gives a token
      }
      if (response.status === 200) {
        const state = await response.json();
        version = state.version;
        render(state.sessions);
        renderDeadLetters(state.dead_letters || []);
      }
      setLive(response.ok);
    } catch {
      setLive(false);
    }
    setTimeout(poll, POLL_MS);
  }

  // -- rendering: only what changed, keeping drafts, errors and focus ---------------------------

  function render(sessions) {
    const main = byId("sessions");
    const focused = document.activeElement;
    const focusKey = focused && focused.dataset ? focused.dataset.key : undefined;
    const selection = focused && "selectionStart" in focused
      ? [focused.selectionStart, focused.selectionEnd] : null;
    const keep = new Set();
    let previous = null;
    for (const session of sessions) {
      keep.add(session.session_id);
      const signature = JSON.stringify(session);
      let card = cards.get(session.session_id);
      if (!card || card.signature !== signature) {
        const element = sessionCard(session);
        if (card) card.element.replaceWith(element);
        card = { signature, element };
        cards.set(session.session_id, card);
      }
      const wanted = previous ? previous.nextSibling : main.firstChild;
      if (card.element !== wanted) main.insertBefore(card.element, wanted);
      previous = card.element;
    }
    for (const [id, card] of cards) {
      if (!keep.has(id)) {
        card.element.remove();
        cards.delete(id);
      }
    }
    byId("empty").hidden = sessions.length > 0;
    if (focusKey && document.activeElement !== focused) {
      const again = main.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (again) {
        again.focus();
        if (selection && "setSelectionRange" in again) again.setSelectionRange(...selection);
      }
    }
  }

  function renderDeadLetters(deadLetters) {
    byId("dead-list").replaceChildren(...deadLetters.map((dead) => el("li", { className: "error" },
      el("code", { text: dead.msg_id }), ` for ${dead.subject_id} at ${when(dead.dead_at)}: ${dead.reason}`)));
    byId("dead-letters").hidden = deadLetters.length === 0;
  }

  function facts(pairs) {
    return el("dl", { className: "facts" },
      ...pairs.map(([term, value]) => el("div", {}, el("dt", { text: term }), el("dd", {}, value))));
  }

  function badge(prefix, value) {
    return el("span", { className: `badge ${prefix}-${value}`, text: value });
  }

  function sessionCard(session) {
    const id = session.session_id;
    const pending = session.messages.some((message) => message.state === "SENT"
      || message.follow_ups.some((followUp) => followUp.state === "SENT"));
    const heading = `session-${id}`;
    return el("section", {
      className: pending ? "session pending" : "session",
      "aria-labelledby": heading,
      "data-session": id,
    },
      el("div", { className: "session-head" },
        el("h2", { id: heading, text: id }),
        badge("s", session.status),
        session.status === "ACTIVE" ? el("button", {
          type: "button",
          className: "reject",
          "data-key": `reject:${id}`,
          "aria-label": `Reject session ${id}`,
          onclick: () => reject(id),
        }, "Reject session") : null),
      facts([
        ["Subject", session.subject_id ?? "none"],
        ["Expires", expiry(session.expiry_date)],
        ["Created", when(session.created_at)],
      ]),
      el("p", { className: "data-label", id: `data-${id}`, text: "message_data" }),
      el("pre", { "aria-labelledby": `data-${id}`, text: pretty(session.message_data) }),
      session.messages.length
        ? el("ol", { className: "messages", "aria-label": `Messages of ${id}` },
          ...session.messages.map((message) => messageItem(session, message)))
        : el("p", { className: "data-label", text: "No messages yet." }));
  }

  // A waiting policy's reminders and escalations are listed under the message they follow.
  function messageItem(session, message) {
    const open = message.state === "SENT" && session.status === "ACTIVE";
    const followUps = message.follow_ups ?? [];
    return el("li", {
      className: message.follow_up ? `message follow-up ${message.follow_up}` : "message",
      "data-message": message.message_id,
    },
      el("p", { className: "message-text", text: message.message }),
      facts([
        ...(message.follow_up ? [["Follows up", message.follow_up]] : []),
        ["State", badge("m", message.state)],
        ["Channel", message.channel_id],
        ["Subject", message.subject_id ?? "none"],
        ["Sent", when(message.created_at)],
        ["Id", message.message_id],
      ]),
      message.response ? el("p", { className: "data-label", id: `response-${message.message_id}`,
        text: `response (${when(message.responded_at)})` }) : null,
      message.response ? el("pre", {
        "aria-labelledby": `response-${message.message_id}`, text: pretty(message.response),
      }) : null,
      open ? (message.response_schema ? schemaForm(session, message) : answerForm(session, message))
        : null,
      followUps.length
        ? el("ol", { className: "follow-ups", "aria-label": `Reminders and escalations of ${
          message.message_id}` }, ...followUps.map((followUp) => messageItem(session, followUp)))
        : null);
  }

  // -- a form rendered from the message's response_schema ---------------------------------------

  function kindOf(schema) {
    if (!schema || typeof schema !== "object") return null;
    if (Array.isArray(schema.enum)) return "enum";
    if ("const" in schema) return "const";
    let kind = schema.type;
    if (Array.isArray(kind)) kind = kind.find((name) => name !== "null");
    if (!kind && schema.properties) kind = "object";
    return kind || null;
  }

  // A field: {node, value()} where value() is the answer's part, undefined if left empty, or
  // throws an Error naming what is wrong. Its state lives in `drafts` (key: id + pointer), so
  // it survives the page's live updates; it starts from the schema's default.
  function field(id, pointer, name, schema, required) {
    const key = id + pointer;
    const kind = kindOf(schema);
    const start = () => (drafts.has(key) ? drafts.get(key) : schema.default);
    const fieldId = `field-${id}${pointer}`;
    const errorId = `error-${id}${pointer}`;
    const title = (schema.title || name) + (required ? " *" : "");
    const hint = schema.description ? el("span", { className: "hint", text: schema.description }) : null;
    const errorNode = el("p", { id: errorId, className: "error", "data-pointer": pointer,
      text: errors.get(key) || "" });
    if (kind === "object") {
      const needed = new Set(schema.required || []);
      const parts = Object.entries(schema.properties || {}).map(([child, sub]) =>
        [child, field(id, `${pointer}/${child.replace(/~/g, "~0").replace(/\//g, "~1")}`, child,
          sub || {}, needed.has(child))]);
      const fields = parts.map(([, part]) => part.node);
      const node = pointer ? el("fieldset", { className: "group" },
        el("legend", { text: title }), hint, ...fields, errorNode) : el("div", {}, ...fields);
      return { node, value() {
        const value = {};
        for (const [child, part] of parts) {
          const got = part.value();
          if (got !== undefined) value[child] = got;
        }
        return value;
      } };
    }
    if (kind === "const") return { node: el("span"), value: () => schema.const };
    if (kind === "boolean" || kind === "enum") {
      const choices = kind === "boolean" ? [["Approve", true], ["Decline", false]]
        : schema.enum.map((value) => [typeof value === "string" ? value : JSON.stringify(value), value]);
      const labelId = `label-${id}${pointer}`;
      const buttons = choices.map(([label, value], index) => el("button", {
        type: "button",
        className: kind === "boolean" ? `choice ${label.toLowerCase()}` : "choice",
        "data-key": `choice:${key}:${index}`,
        "aria-pressed": JSON.stringify(start()) === JSON.stringify(value) ? "true" : "false",
        "aria-describedby": errorId,
        onclick: (event) => {
          drafts.set(key, value);
          for (const button of buttons) button.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
        },
      }, label));
      return {
        node: el("div", { className: "field" },
          el("span", { id: labelId, className: "label", text: title }), hint,
          el("div", { className: "choices", role: "group", "aria-labelledby": labelId }, ...buttons),
          errorNode),
        value: start,
      };
    }
    const number = kind === "number" || kind === "integer";
    const text = kind === "string" || number;
    const input = el(text ? "input" : "textarea", {
      id: fieldId,
      type: text ? (number ? "number" : "text") : false,
      step: kind === "number" ? "any" : false,
      rows: text ? false : 3,
      spellcheck: "false",
      "data-key": `field:${key}`,
      "aria-describedby": errorId,
      "aria-invalid": errors.has(key) ? "true" : false,
    });
    if (drafts.has(key)) input.value = drafts.get(key);
    else if (schema.default !== undefined) {
      input.value = text ? String(schema.default) : pretty(schema.default);
    }
    input.addEventListener("input", () => drafts.set(key, input.value));
    return {
      node: el("div", { className: "field" },
        el("label", { for: fieldId, text: text ? title : `${title} (JSON)` }), hint, input, errorNode),
      value() {
        const raw = input.value;
        if (raw.trim() === "") return kind === "string" && required ? "" : undefined;
        if (kind === "string") return raw;
        if (number) return Number(raw);
        try {
          return JSON.parse(raw);
        } catch (error) {
          throw new Error(`${pointer}: not valid JSON: ${error.message}`);
        }
      },
    };
  }

  function schemaForm(session, message) {
    const id = message.message_id;
    const root = field(id, "", "answer", message.response_schema, true);
    const rawId = `raw-${id}`;
    const raw = el("textarea", { id: rawId, rows: 4, spellcheck: "false", "data-key": `raw:${id}`,
      "aria-describedby": `error-${id}` });
    raw.value = drafts.has(`raw:${id}`) ? drafts.get(`raw:${id}`) : "";
    raw.addEventListener("input", () => drafts.set(`raw:${id}`, raw.value));
    const fallback = el("details", { className: "raw", open: drafts.has(`raw:${id}`) },
      el("summary", { "data-key": `summary:${id}`, text: "Answer as raw JSON instead" }),
      el("label", { for: rawId, text: "Answer (a JSON object; sent instead of the form)" }), raw);
    fallback.addEventListener("toggle", () => {
      if (fallback.open && !raw.value) {
        try {
          raw.value = pretty(root.value());
        } catch {
          raw.value = "{}";
        }
      }
      if (fallback.open) drafts.set(`raw:${id}`, raw.value);
      else drafts.delete(`raw:${id}`);
    });
    const form = el("form", {
      className: "answer typed",
      novalidate: true,
      "aria-label": `Answer to: ${message.message}`,
      onsubmit: (event) => {
        event.preventDefault();
        let parsed;
        if (fallback.open) parsed = parseAnswer(raw.value);
        else {
          try {
            parsed = { value: root.value() };
          } catch (error) {
            parsed = { error: error.message };
          }
        }
        if (parsed.error) showError(id, parsed.error);
        else submit(session.session_id, id, parsed.value);
      },
    },
      root.node,
      el("p", { id: `error-${id}`, className: "error", role: "alert", text: errors.get(id) || "" }),
      el("div", { className: "actions" },
        el("button", { type: "submit", className: "primary", "data-key": `send:${id}` }, "Send answer")),
      fallback);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    return form;
  }

  // The server's errors beside the fields they name (JSON Pointers into the body: /response/...);
  // a missing required property is shown at its field. What names no field stays on top.
  function showFieldErrors(messageId, problem) {
    for (const key of [...errors.keys()]) {
      if (key.startsWith(`${messageId}/`)) errors.delete(key);
    }
    const rest = [];
    for (const error of problem.errors || []) {
      let pointer = String(error.path || "").replace(/^\/response/, "");
      const missing = /^'(.+)' is a required property$/.exec(error.message || "");
      if (missing) pointer += `/${missing[1].replace(/~/g, "~0").replace(/\//g, "~1")}`;
      const shown = pointer && document.getElementById(`error-${messageId}${pointer}`);
      if (!shown) {
        rest.push(error);
        continue;
      }
      const key = messageId + pointer;
      errors.set(key, errors.has(key) ? `${errors.get(key)}\n${error.message}` : error.message);
      shown.textContent = errors.get(key);
      const input = byId(`field-${messageId}${pointer}`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    return problemLines(problem, rest);
  }

  function clearFieldErrors(messageId) {
    for (const key of [...errors.keys()]) {
      if (!key.startsWith(`${messageId}/`)) continue;
      errors.delete(key);
      const pointer = key.slice(messageId.length);
      const shown = document.getElementById(`error-${messageId}${pointer}`);
      if (shown) shown.textContent = "";
      const input = byId(`field-${messageId}${pointer}`);
      if (input) input.setAttribute("aria-invalid", "false");
    }
  }

  // -- the raw JSON editor (messages without a schema) -----------------------------------------

  function answerForm(session, message) {
    const id = message.message_id;
    const editorId = `answer-${id}`;
    const errorId = `error-${id}`;
    const editor = el("textarea", {
      id: editorId,
      name: "response",
      rows: 4,
      spellcheck: "false",
      "data-key": `answer:${id}`,
      "aria-describedby": errorId,
      "aria-invalid": errors.has(id) ? "true" : false,
    });
    // No draft from the session's data template: that describes the data, not the answer.
    editor.value = drafts.has(id) ? drafts.get(id) : "";
    editor.placeholder = '{"approved": true}';
    editor.addEventListener("input", () => drafts.set(id, editor.value));
    const form = el("form", {
      className: "answer",
      novalidate: true,
      "aria-label": `Answer to: ${message.message}`,
      onsubmit: (event) => {
        event.preventDefault();
        const parsed = parseAnswer(editor.value);
        if (parsed.error) showError(id, parsed.error);
        else submit(session.session_id, id, parsed.value);
      },
    },
      el("label", { for: editorId, text: "Answer (a JSON object; Ctrl+Enter sends)" }),
      editor,
      el("p", { id: errorId, className: "error", role: "alert", text: errors.get(id) || "" }),
      el("div", { className: "actions" },
        el("button", { type: "submit", className: "primary", "data-key": `send:${id}` }, "Send answer"),
        ...[["Approve", true], ["Decline", false]].map(([label, approved]) => el("button", {
          type: "button",
          className: label.toLowerCase(),
          "data-key": `${label}:${id}`,
          title: `Answer {"approved": ${approved}}`,
          onclick: () => submit(session.session_id, id, { approved }),
        }, label))));
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    return form;
  }

  // -- actions ------------------------------------------------------------------------------

  function parseAnswer(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { error: `Not valid JSON: ${error.message}` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { error: 'The answer must be a JSON object, such as {"approved": true}.' };
    }
    return { value };
  }

  function showError(messageId, text) {
    if (text) errors.set(messageId, text);
    else errors.delete(messageId);
    const shown = byId(`error-${messageId}`);
    if (shown) shown.textContent = text;
    const editor = byId(`answer-${messageId}`);
    if (editor) editor.setAttribute("aria-invalid", text ? "true" : "false");
  }

  async function submit(sessionId, messageId, response) {
    if (sending.has(messageId)) return;
    sending.add(messageId);
    showError(messageId, "");
    clearFieldErrors(messageId);
    try {
      const path = `/_inbox/api/sessions/${enc(sessionId)}/messages/${enc(messageId)}/answer`;
      const reply = await api("POST", path, { response });
      if (reply.ok) {
        for (const key of [...drafts.keys()]) {
          if (key === messageId || key.startsWith(`${messageId}/`) || key === `raw:${messageId}`) {
            drafts.delete(key);
          }
        }
        notice(`Answered ${messageId} in ${sessionId}.`);
      } else if (reply.status === 401) {
        lock();
      } else {
        showError(messageId, showFieldErrors(messageId, await readProblem(reply)));
      }
    } catch (error) {
      showError(messageId, `The local stack did not answer: ${error.message}`);
    } finally {
      sending.delete(messageId);
    }
  }

  async function act(request, done) {
    try {
      const reply = await request();
      if (reply.status === 401) lock();
      else notice(reply.ok ? done(await reply.json()) : await problemText(reply));
    } catch (error) {
      notice(`The local stack did not answer: ${error.message}`);
    }
  }

  function reject(sessionId) {
    return act(() => api("POST", `/sessions/${enc(sessionId)}/reject`),
      (session) => `Rejected ${session.session_id}: it is ${session.status}.`);
  }

  byId("expire").addEventListener("click", () => act(() => api("POST", "/sessions/expire"),
    (result) => (result.expired_count
      ? `Expired ${result.expired_count} session(s): ${result.session_ids.join(", ")}.`
      : "No active session is past its expiry date.")));

  poll();
})();
