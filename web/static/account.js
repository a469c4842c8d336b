// The account page: profile, sessions, sign-in history, password and
// two-factor settings, all through the API with the browser client.
import { enhance } from "./forms.js";

const $ = (id) => document.getElementById(id);

let client;
let prefix;

/** Starts the page with a Latchkey client. */
export async function start(c, p) {
  client = c;
  prefix = p;
  $("loading").hidden = false;
  client.onChange((what) => {
    if (what === "signedout") toSignIn();
  });
  let signedIn;
  try {
    signedIn = await client.restore();
  } catch (err) {
    return fatal(err);
  }
  if (!signedIn) return toSignIn();
  wire();
  try {
    await Promise.all([loadProfile(), loadSessions(), loadHistory()]);
  } catch (err) {
    return fatal(err);
  }
  $("loading").hidden = true;
  $("account").hidden = false;
  $("signout").hidden = false;
}

function toSignIn() {
  location.assign(prefix + "/signin");
}

function fatal(err) {
  $("loading").hidden = true;
  const box = $("form-error");
  box.textContent = err.message || "The account could not be loaded.";
  box.hidden = false;
}

function say(id, text) {
  const el = $(id);
  el.textContent = text;
  el.hidden = false;
}

function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Names the browser and system of a user agent string, roughly. */
export function device(ua) {
  if (!ua) return "Unknown device";
  const browsers = [["Edg/", "Edge"], ["OPR/", "Opera"], ["Firefox/", "Firefox"],
    ["Chrome/", "Chrome"], ["Safari/", "Safari"], ["curl/", "curl"],
    ["Go-http-client", "Go program"]];
  const systems = [["Android", "Android"], ["iPhone", "iPhone"], ["iPad", "iPad"],
    ["Windows", "Windows"], ["Mac OS X", "macOS"], ["CrOS", "ChromeOS"], ["Linux", "Linux"]];
  const b = browsers.find(([k]) => ua.includes(k));
  const s = systems.find(([k]) => ua.includes(k));
  if (b && s) return `${b[1]} on ${s[1]}`;
  if (b) return b[1];
  return ua.length > 40 ? ua.slice(0, 40) + "…" : ua;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

// labelCells names each cell of tbody after its column, for narrow
// screens, where the style sheet stacks a row's cells under these names.
// A column named for screen readers only, such as that of the buttons,
// names none.
function labelCells(tbody) {
  const heads = [...tbody.closest("table").tHead.rows[0].cells].map((th) =>
    th.querySelector(".visually-hidden") ? "" : th.textContent.trim());
  for (const row of tbody.rows) {
    for (const td of row.cells) {
      if (heads[td.cellIndex]) td.dataset.label = heads[td.cellIndex];
    }
  }
}

async function loadProfile() {
  const { user } = await client.request("GET", "/profile");
  $("profile-email").textContent = user.email;
  // The default value, so that resetting the form after a change keeps the
  // account name beside the new password for password managers.
  $("password-username").defaultValue = user.email;
  $("profile-username").textContent = user.username || "—";
  $("profile-verified").textContent = user.emailVerified ? "Yes" : "No";
  $("profile-role").textContent = user.role;
  $("profile-created").textContent = when(user.createdAt);
  $("verify-box").hidden = user.emailVerified;
  showMFA(user.twoFactorEnabled ? "mfa-on" : "mfa-off");
}

async function loadSessions() {
  const { sessions } = await client.request("GET", "/sessions");
  const rows = sessions.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.session = s.id;
    const dev = cell(tr, device(s.userAgent));
    dev.title = s.userAgent;
    if (s.current) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "This device";
      dev.append(" ", badge);
    }
    cell(tr, s.ipAddress);
    cell(tr, when(s.lastActivity));
    const act = cell(tr, "", "action");
    if (!s.current) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "danger small revoke";
      b.textContent = "Revoke";
      b.setAttribute("aria-label", `Revoke the session of ${device(s.userAgent)}, ${s.ipAddress}`);
      b.addEventListener("click", () => revoke(s.id, b));
      act.append(b);
    }
    return tr;
  });
  $("sessions").replaceChildren(...rows);
  labelCells($("sessions"));
}

async function revoke(id, button) {
  button.disabled = true;
  try {
    await client.request("DELETE", "/sessions/" + encodeURIComponent(id));
    await loadSessions();
    say("sessions-status", "The session was signed out.");
  } catch (err) {
    button.disabled = false;
    say("sessions-status", err.message);
  }
}

async function loadHistory() {
  const { entries } = await client.request("GET", "/login-history");
  const rows = entries.slice(0, 20).map((e) => {
    const tr = document.createElement("tr");
    cell(tr, when(e.createdAt));
    cell(tr, device(e.userAgent)).title = e.userAgent;
    cell(tr, e.ipAddress);
    cell(tr, e.success ? "Signed in" : "Refused" + (e.reason ? ` (${e.reason.replaceAll("_", " ")})` : ""),
      e.success ? "ok" : "refused");
    return tr;
  });
  $("history").replaceChildren(...rows);
  labelCells($("history"));
  $("history").closest("table").hidden = rows.length === 0;
  $("history-empty").hidden = rows.length > 0;
}

function showMFA(part) {
  for (const id of ["mfa-off", "mfa-setup", "mfa-codes", "mfa-on"]) $(id).hidden = id !== part;
}

function showCodes(codes) {
  const items = codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = c;
    return li;
  });
  $("backup-codes").replaceChildren(...items);
  const text = "Latchkey backup codes for " + $("profile-email").textContent + "\n" +
    "Each code signs you in once.\n\n" + codes.join("\n") + "\n";
  // A data: URL rather than a blob: one, which the page's policy would
  // keep even its own scripts from reading back.
  $("codes-download").href = "data:text/plain;charset=utf-8," + encodeURIComponent(text);
  showMFA("mfa-codes");
  $("codes-done").focus();
}

function wire() {
  $("signout").addEventListener("click", async () => {
    try {
      await client.logout();
    } finally {
      toSignIn();
    }
  });
  $("reload-sessions").addEventListener("click", () => loadSessions().catch(fatal));

  $("send-verification").addEventListener("click", async () => {
    try {
      const res = await client.request("POST", "/email/verify/send");
      say("profile-status", res.message);
    } catch (err) {
      say("profile-status", err.message);
    }
  });

  const pw = $("password-form");
  enhance(pw, async (v) => {
    const res = await client.request("POST", "/password/change", {
      currentPassword: v["current-password"],
      newPassword: v["new-password"],
    }).catch(fieldsAs({ currentPassword: "current-password", newPassword: "new-password" }));
    pw.reset();
    say("password-status", res.message);
    await loadSessions();
  });

  $("mfa-start").addEventListener("click", async () => {
    try {
      const res = await client.request("POST", "/mfa/totp/setup");
      $("mfa-qr").src = res.qrCode;
      $("mfa-secret").textContent = res.secret;
      showMFA("mfa-setup");
      $("enable-code").focus();
    } catch (err) {
      fatal(err);
    }
  });
  $("mfa-cancel").addEventListener("click", () => showMFA("mfa-off"));
  enhance($("mfa-enable-form"), async (v) => {
    const res = await client.request("POST", "/mfa/totp/enable", { code: v["enable-code"].trim() })
      .catch(fieldsAs({ code: "enable-code" }));
    $("mfa-enable-form").reset();
    showCodes(res.backupCodes);
  });
  $("codes-done").addEventListener("click", () => {
    $("backup-codes").replaceChildren();
    showMFA("mfa-on");
  });
  enhance($("mfa-regenerate-form"), async (v) => {
    const res = await client.request("POST", "/mfa/backup-codes", { code: v["regen-code"].trim() })
      .catch(fieldsAs({ code: "regen-code" }));
    $("mfa-regenerate-form").reset();
    $("mfa-regenerate").open = false;
    showCodes(res.backupCodes);
  });
  enhance($("mfa-disable-form"), async (v) => {
    const second = v["disable-code"].trim();
    const factor = /^\d{6}$/.test(second) ? { code: second } : { backupCode: second };
    await client.request("POST", "/mfa/totp/disable", { password: v["disable-password"], ...factor })
      .catch(fieldsAs({ password: "disable-password", code: "disable-code",
        backupCode: "disable-code" }));
    $("mfa-disable-form").reset();
    $("mfa-disable").open = false;
    showMFA("mfa-off");
  });
}

// fieldsAs renames the fields of a refusal from the API's names to the ids
// of this page's inputs, so that each message shows next to its input. A
// refusal that names no input here is shown at the top of the page.
function fieldsAs(ids) {
  return (err) => {
    const fields = {};
    for (const [name, msg] of Object.entries(err.fields || {})) {
      if (ids[name]) fields[ids[name]] = msg;
    }
    err.fields = fields;
    throw err;
  };
}
