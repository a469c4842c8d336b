// The pages' behaviour on top of their plain forms. Every form here also
// works without this file, by posting to the server.
import { Latchkey } from "../sdk/latchkey.js";
import { enhance } from "./forms.js";

const body = document.body;
const prefix = body.dataset.prefix || "";
const client = new Latchkey({ apiBase: body.dataset.api || "/api/auth" });

function toAccount() {
  location.assign(prefix + "/account");
}

function signIn() {
  let mfaToken = "";
  enhance(document.getElementById("signin-form"), async (v) => {
    const res = await client.login(v.email, v.password);
    if (!res.mfaRequired) return toAccount();
    mfaToken = res.mfaToken;
    document.getElementById("password-step").hidden = true;
    document.getElementById("mfa-step").hidden = false;
    document.getElementById("code").focus();
  });
  const second = async (factor) => {
    let res;
    try {
      res = await client.loginMFA(mfaToken, factor);
    } catch (err) {
      if (err.code === "invalid_token") {
        // The step-up token is spent: start again from the password.
        location.reload();
      }
      if (err.code === "invalid_credentials") {
        const field = factor.code !== undefined ? "code" : "backupCode";
        err.fields = { [field]: "That code is not right. Try again." };
      }
      throw err;
    }
    if (res.backupCodesRemaining === undefined) return toAccount();
    codesLeft(res.backupCodesRemaining);
  };
  enhance(document.getElementById("mfa-code-form"), (v) => second({ code: v.code.trim() }));
  enhance(document.getElementById("mfa-backup-form"),
    (v) => second({ backupCode: v.backupCode.trim() }));
}

// codesLeft says, after a backup code signed in, how many remain: the
// server's page without JavaScript says the same.
function codesLeft(n) {
  document.querySelector("main h1").textContent = "You are signed in";
  document.getElementById("codes-left").textContent = String(n);
  document.getElementById("codes-noun").textContent = n === 1 ? "code" : "codes";
  document.getElementById("mfa-step").hidden = true;
  document.getElementById("backup-done").hidden = false;
  document.getElementById("continue").focus();
}

function signUp() {
  enhance(document.getElementById("signup-form"), async (v) => {
    await client.register({ email: v.email, password: v.password, username: v.username });
    toAccount();
  });
}

// linkToken moves the token from the URL's fragment into the form, and out
// of the address bar and history. The form still posts it: opening the
// link alone changes nothing.
function linkToken() {
  const input = document.getElementById("token");
  if (!input) return;
  const frag = new URLSearchParams(location.hash.slice(1));
  const tok = frag.get("token");
  if (tok) {
    input.value = tok;
    document.getElementById("token-group").hidden = true;
    history.replaceState(null, "", location.pathname);
  }
}

switch (body.dataset.page) {
  case "signin":
    signIn();
    break;
  case "signup":
    signUp();
    break;
  case "reset":
  case "verify":
    linkToken();
    break;
  case "account":
    import("./account.js").then((m) => m.start(client, prefix));
    break;
}
