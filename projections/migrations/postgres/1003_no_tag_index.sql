-- Documents with a tag (the activity view's pages, tagged with their actor)
-- are read by a range of keys, filtered by tag; the index on tags is not
-- needed. On PostgreSQL it was also the index a generic plan picked, with
-- stale statistics, to look documents up by key: (view, generation) led
-- both indexes, and the tag index scanned the whole generation for each.
DROP INDEX view_docs_by_tag;
