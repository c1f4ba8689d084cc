// Sign-In with Ethereum through an injected EIP-1193 provider (MetaMask and the like): control writes the EIP-4361
// message, the wallet signs it with personal_sign (EIP-191), control answers a session token kept for this tab.
import { ApiError, control, dropSession, keepSession, session } from "./api.js";

const toHex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

export function provider() { return window.ethereum || null; }

export async function signIn() {
  const eth = provider();
  if (!eth) throw new ApiError("No wallet found in this browser. Install a wallet (MetaMask or another EIP-1193 wallet) to sign in; everything can be read without one.");
  let account;
  try {
    [account] = await eth.request({ method: "eth_requestAccounts" });
  } catch (e) {
    throw new ApiError(`The wallet did not share an account: ${e && e.message ? e.message : "request refused"}`);
  }
  if (!account) throw new ApiError("The wallet shared no account.");
  const issued = await control("POST", "/api/v3/auth/nonce", { wallet: account });
  // Wallets that check the message's domain against the page warn when they differ: say why, once signed in.
  const named = issued.message.split(" wants you to sign in")[0];
  const warning = named === location.host ? "" : `The sign-in message names ${named}, not this page (${location.host}), so your `
    + `wallet may have warned: control's SIGN_IN_DOMAIN should be ${location.host} (docs/web-app.md).`;
  let signature;
  try {
    signature = await eth.request({ method: "personal_sign", params: [toHex(issued.message), account] });
  } catch (e) {
    throw new ApiError(`The sign-in message was not signed: ${e && e.message ? e.message : "request refused"}`);
  }
  const s = await control("POST", "/api/v3/auth/verify", { message: issued.message, signature });
  keepSession({ token: s.token, wallet: s.wallet, expires_at: s.expires_at, token_id: s.token_id });
  return { wallet: s.wallet, warning };
}

/** Forget the session here and revoke it at control (this session only; the wallet's API tokens stay). */
export async function signOut() {
  const s = session();
  dropSession();
  if (s && s.token_id) {
    try { await control("DELETE", `/api/v3/auth/tokens/${s.token_id}`, undefined, { token: s.token }); } catch { /* expired already */ }
  }
}

/** Sign out when the wallet switches to another account. */
export function watchAccounts(onChange) {
  const eth = provider();
  if (!eth || !eth.on) return;
  eth.on("accountsChanged", async (accounts) => {
    const s = session();
    if (s && (!accounts.length || accounts[0].toLowerCase() !== s.wallet.toLowerCase())) {
      await signOut();
      onChange();
    }
  });
}
