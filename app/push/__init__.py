"""Push senders: APNs, FCM and a log sender behind one interface (`app.push.base.Sender`)."""
