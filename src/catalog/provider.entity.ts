import { PrimaryKeyProp, Entity, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import type { AdapterKind, DataPolicy } from "../core/types.js";


/** An upstream that serves models: its protocol adapter, where it is reached and what it does with data. */
@Entity({ tableName: "provider" })
export class Provider {
  [PrimaryKeyProp]?: "slug";
  [OptionalProps]?:
    | "baseUrl"
    | "baseUrlEnv"
    | "apiKeyEnv"
    | "privacyPolicyUrl"
    | "termsOfServiceUrl"
    | "statusPageUrl"
    | "headquarters"
    | "datacenters"
    | "supportsCancellation"
    | "createdAt"
    | "updatedAt";

  @PrimaryKey({ type: "text" })
  slug!: string;

  @Property({ type: "text" })
  name!: string;

  @Property({ type: "text" })
  adapter!: AdapterKind;

  @Property({ type: "text", nullable: true })
  baseUrl: string | null = null;

  /** Environment variable that overrides `baseUrl` when set. */
  @Property({ type: "text", nullable: true })
  baseUrlEnv: string | null = null;

  /** Environment variable holding the provider's API key; the provider is inactive while it is unset. */
  @Property({ type: "text", nullable: true })
  apiKeyEnv: string | null = null;

  @Property({ type: "jsonb", nullable: true })
  dataPolicy!: DataPolicy | null;

  @Property({ type: "text", nullable: true })
  privacyPolicyUrl: string | null = null;

  @Property({ type: "text", nullable: true })
  termsOfServiceUrl: string | null = null;

  @Property({ type: "text", nullable: true })
  statusPageUrl: string | null = null;

  @Property({ type: "text", nullable: true })
  headquarters: string | null = null;

  @Property({ type: "text[]", defaultRaw: "'{}'" })
  datacenters: string[] = [];

  /** Aborting a stream stops generation (and billing) upstream. */
  @Property({ type: "boolean", defaultRaw: "true" })
  supportsCancellation: boolean = true;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", defaultRaw: "now()", onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
