"""``assina email`` and ``assina campaign`` in a subprocess, mailing a real SMTP server."""

from email_support import free_port, parts, smtp_server


def test_send_test_mails_a_template_in_the_asked_language_and_lists_it(assina):
    with smtp_server() as (box, port):
        env = {"ASSINA_SMTP_URL": f"smtp://127.0.0.1:{port}", "ASSINA_BUSINESS_NAME": "Loja"}
        sent = assina.ok("email", "send-test", "--to", "owner@example.com", "--template", "trial_ending", "--locale", "pt-BR",
                         env=env)
    assert sent["status"] == "sent" and sent["provider_response"].startswith("250")
    message = box.to("owner@example.com")[0]
    assert message["Subject"] == "Seu período de teste termina em 24 de novembro de 2026"
    text, html = parts(message)
    assert "Loja" in text and "Loja" in html
    listed = assina.ok("email", "list", "--status", "sent")["messages"]
    assert [m["template"] for m in listed] == ["trial_ending"]


def test_bad_input_is_refused_cleanly(assina):
    assina.refused("email", "send-test", "--to", "a@example.com", "--template", "nope", words=("unknown message template", "welcome"))
    assina.refused("campaign", "send", "999", words=("unknown campaign",))
    down = {"ASSINA_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}  # nobody listens: the message waits
    queued = assina.ok("email", "send-test", "--to", "a@example.com", "--template", "welcome", env=down)
    assert queued["status"] == "queued" and queued["attempts"] == 1 and "Connection" in queued["provider_response"]
