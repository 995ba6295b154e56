// name: store/forget_contacts
// description: Remove contact links past their retention; returns how many went.
// parameters: $rows (list of maps: applicant_id, ref)
// returns: links
UNWIND $rows AS row
MATCH (:Applicant {id: row.applicant_id})-[l:HAS {role: 'contact'}]->(:Identifier {ref: row.ref})
DELETE l
RETURN count(*) AS links
