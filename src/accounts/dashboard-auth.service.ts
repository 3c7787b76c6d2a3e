import { randomBytes } from "node:crypto";
import { AppError, isAppError } from "../errors.js";
import type { Queryable } from "../persistence/sql.js";
import { EMAIL, normalizeEmail, type AccountsService } from "./accounts.service.js";
import type { LoginThrottle } from "./login-throttle.js";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.js";
import type { NewSession, SessionAuthenticator } from "./sessions.js";

/** The client a sign-in comes from: the address login throttling counts, and the browser to label the session. */
export interface ClientInfo {
  ip: string;
  userAgent?: string | null;
}

/** Who is signed in, as the dashboard shows it. */
export interface DashboardIdentity {
  account: { id: string; name: string };
  user: { id: string; email: string };
}

export interface SignedIn extends DashboardIdentity {
  session: NewSession;
}

const EMAIL_MAX_LENGTH = 254;
const BAD_LOGIN = "Incorrect email or password.";

/**
 * Dashboard sign-up and login with passwords. Wrong email and wrong password are one answer (401, one message) after
 * the same scrypt work, so the login form tells no one which emails have accounts; every attempt goes through the
 * {@link LoginThrottle}. Passwords appear in no error, log or response.
 */
export class DashboardAuthService {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly deps: { db: Queryable; accounts: AccountsService; sessions: SessionAuthenticator; throttle: LoginThrottle },
  ) {}

  /**
   * Creates an account with one user and starts a session. A malformed email or a password that breaks the rules is
   * `invalid_request`; an email that already has an account is `conflict`.
   */
  async signup(input: { email: string; password: string; name?: string }, client: ClientInfo): Promise<SignedIn> {
    const email = normalizeEmail(input.email);
    if (email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email)) {
      throw new AppError("invalid_request", "The email is not a valid email address.", { metadata: { param: "email" } });
    }
    const problem = passwordProblem(input.password);
    if (problem) throw new AppError("invalid_request", problem, { metadata: { param: "password" } });
    const passwordHash = await hashPassword(input.password);
    let created;
    try {
      created = await this.deps.accounts.createAccount({ email, name: input.name, passwordHash });
    } catch (error) {
      if (isAppError(error) && error.code === "conflict") {
        throw new AppError("conflict", "An account with this email already exists. Log in instead.", { metadata: { param: "email" } });
      }
      throw error;
    }
    const { account, user } = created;
    const session = await this.deps.sessions.start({ userId: user.id, accountId: account.id, userAgent: client.userAgent });
    return { account: { id: account.id, name: account.name }, user: { id: user.id, email: user.email }, session };
  }

  /** Checks an email and password and starts a session. Unknown email and wrong password: the same `unauthenticated`. */
  async login(input: { email: string; password: string }, client: ClientInfo): Promise<SignedIn> {
    const email = normalizeEmail(input.email);
    await this.deps.throttle.attempt(email, client.ip);
    const [row] = await this.deps.db.query<UserRow>(
      `select u.id, u.email, u.password_hash, a.id as account_id, a.name as account_name
         from app_user u join account a on a.id = u.account_id
        where u.email = $1 and a.deleted_at is null`,
      [email],
    );
    if (!(await this.passwordMatches(input.password, row?.password_hash ?? null))) throw new AppError("unauthenticated", BAD_LOGIN);
    await this.deps.throttle.succeeded(email, client.ip);
    const session = await this.deps.sessions.start({ userId: row.id, accountId: row.account_id, userAgent: client.userAgent });
    return { account: { id: row.account_id, name: row.account_name }, user: { id: row.id, email: row.email }, session };
  }

  /**
   * Checks the password a signed-in user re-entered to confirm a destructive action. Throttled like a login; a wrong
   * password is `forbidden` (the session itself is still good).
   */
  async confirmPassword(userId: string, password: string, client: ClientInfo): Promise<void> {
    const [row] = await this.deps.db.query<UserRow>("select id, email, password_hash from app_user where id = $1", [userId]);
    if (!row) throw new AppError("unauthenticated", "The session's user no longer exists.");
    await this.deps.throttle.attempt(row.email, client.ip);
    if (!(await this.passwordMatches(password, row.password_hash))) throw new AppError("forbidden", "The password is incorrect.");
    await this.deps.throttle.succeeded(row.email, client.ip);
  }

  /** The account and user of a session, or null when the user is gone. */
  async identity(userId: string): Promise<DashboardIdentity | null> {
    const [row] = await this.deps.db.query<UserRow>(
      `select u.id, u.email, a.id as account_id, a.name as account_name
         from app_user u join account a on a.id = u.account_id
        where u.id = $1 and a.deleted_at is null`,
      [userId],
    );
    return row ? { account: { id: row.account_id, name: row.account_name }, user: { id: row.id, email: row.email } } : null;
  }

  /** Verifies against the stored hash, or against a throw-away hash when there is none, so both take the same time. */
  private async passwordMatches(password: string, stored: string | null): Promise<boolean> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
    const matches = await verifyPassword(password, stored ?? (await this.dummyHash));
    return stored !== null && matches;
  }
}

interface UserRow {
  id: string;
  email: string;
  password_hash: string | null;
  account_id: string;
  account_name: string;
}
