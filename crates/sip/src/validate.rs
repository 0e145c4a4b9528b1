//! Request validation: which status a UAS answers to a well-framed but unacceptable request.
