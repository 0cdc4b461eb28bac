-- Down of 0020_security_events.sql: its table (the table's indexes go with it). The events it held are gone.
DROP TABLE "security_events";
