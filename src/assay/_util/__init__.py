"""Small helpers shared by every package; no domain logic lives here."""
