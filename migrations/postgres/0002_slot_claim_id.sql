-- Which claim took each slot, so the same claim sent again (its answer lost, its write landed) wins again.

-- Slots claimed before this version keep NULL: no retry matches them, and none is owed a match.
ALTER TABLE ha_slots ADD COLUMN claim_id text;
